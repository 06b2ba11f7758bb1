//! The OpenAPI document and the plugin manifest describe every operation.

use crate::common::*;

#[tokio::test]
async fn openapi_lists_every_operation_and_the_manifest_points_at_it() {
    let app = App::spawn().await;
    let (s, doc) = app.get("/openapi.json", None).await;
    assert_eq!(s, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    for op in pact_api::openapi::OPERATIONS {
        let o = &doc["paths"][op.path][op.method];
        assert_eq!(o["operationId"], op.id, "{} {}", op.method, op.path);
    }
    let n: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(n, pact_api::openapi::OPERATIONS.len());
    assert!(n >= 29);
    // Every documented operation is routed (no 404 "route not found"/405 from the router).
    for op in pact_api::openapi::OPERATIONS {
        let path = op
            .path
            .replace("{id}", "1")
            .replace("{handle}", "x")
            .replace("{key_id}", "1")
            .replace("{address}", "0x00");
        let (s, v) = app
            .call(&op.method.to_uppercase(), &path, None, None, None)
            .await;
        assert!(
            s != 405 && !(s == 404 && v["message"] == "route not found"),
            "{} {path}: {s} {v}",
            op.method
        );
    }
    let (s, m) = app.get("/.well-known/ai-plugin.json", None).await;
    assert_eq!(s, 200);
    assert!(m["api"]["url"].as_str().unwrap().ends_with("/openapi.json"));
    assert_eq!(m["auth"]["authorization_type"], "bearer");
}
