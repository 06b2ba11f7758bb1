//! What the OpenAPI document says of an operation, read from its handler's signature: the
//! extractors it takes (a JSON body, a query, a path parameter, a bearer key, optional
//! authentication) and the reply it returns (status and body). A row of the route table names
//! only the handler, so a handler that reads another body, query or key, or answers another
//! status or type, changes the document with it.
//!
//! This is axum's own trick for `Handler`: a trait implemented for every `Fn` of up to six
//! arguments, each argument describing itself through [`Part`], evaluated at compile time.

use crate::{
    ApiResult,
    auth::{Auth, MaybeAuth},
    extract::{ApiJson, ApiPath, ApiQuery},
    reply::{Created, NoContent, ShownOnce},
};
use axum::{Json, body::Bytes, extract::State, http::Extensions};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use std::future::Future;

/// A JSON Schema generator for one Rust type.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

pub(crate) fn schema_of<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// Who may call an operation, from the authentication extractor its handler takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No authentication extractor.
    Public,
    /// [`Auth`]: a valid bearer key is required.
    Bearer,
    /// [`MaybeAuth`]: a bearer key is optional (a party sees more).
    Optional,
}

impl Access {
    /// The name the route table and the tests use: `none`, `bearer` or `optional`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Public => "none",
            Self::Bearer => "bearer",
            Self::Optional => "optional",
        }
    }
}

/// An operation's interface as its handler declares it.
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    /// The authentication extractor.
    pub access: Access,
    /// The JSON body ([`ApiJson`]), required when present.
    pub body: Option<SchemaFn>,
    /// The query parameters ([`ApiQuery`]).
    pub query: Option<SchemaFn>,
    /// The path parameter ([`ApiPath`]).
    pub path: Option<SchemaFn>,
    /// The success status.
    pub status: u16,
    /// The success body (none for `204`).
    pub response: Option<SchemaFn>,
}

const fn or<T: Copy>(a: Option<T>, b: Option<T>) -> Option<T> {
    match a {
        Some(_) => a,
        None => b,
    }
}

/// A handler argument, as the document sees it. Extractors that carry nothing the document
/// describes (state, extensions, a raw body the handler checks itself) keep the defaults.
pub trait Part {
    /// The authentication it requires, if it is an authentication extractor.
    const ACCESS: Option<Access> = None;
    /// The JSON body it reads.
    const BODY: Option<SchemaFn> = None;
    /// The query it reads.
    const QUERY: Option<SchemaFn> = None;
    /// The path parameter it reads.
    const PATH: Option<SchemaFn> = None;
}

impl<S> Part for State<S> {}
impl Part for Extensions {}
/// A raw body: the handler validates it itself (e.g. `close` takes none or `{}`), so the document
/// keeps the optional empty body of writes without a JSON body.
impl Part for Bytes {}
impl Part for Auth {
    const ACCESS: Option<Access> = Some(Access::Bearer);
}
impl Part for MaybeAuth {
    const ACCESS: Option<Access> = Some(Access::Optional);
}
impl<T: JsonSchema> Part for ApiJson<T> {
    const BODY: Option<SchemaFn> = Some(schema_of::<T>);
}
impl<T: JsonSchema> Part for ApiQuery<T> {
    const QUERY: Option<SchemaFn> = Some(schema_of::<T>);
}
impl<T: JsonSchema> Part for ApiPath<T> {
    const PATH: Option<SchemaFn> = Some(schema_of::<T>);
}

/// A handler's success reply, as the document sees it.
pub trait Reply {
    /// The status.
    const STATUS: u16;
    /// The body.
    const BODY: Option<SchemaFn>;
}

impl<T: JsonSchema> Reply for Json<T> {
    const STATUS: u16 = 200;
    const BODY: Option<SchemaFn> = Some(schema_of::<T>);
}
impl<T: JsonSchema> Reply for Created<T> {
    const STATUS: u16 = 201;
    const BODY: Option<SchemaFn> = Some(schema_of::<T>);
}
impl Reply for NoContent {
    const STATUS: u16 = 204;
    const BODY: Option<SchemaFn> = None;
}
impl<R: Reply> Reply for ShownOnce<R> {
    const STATUS: u16 = R::STATUS;
    const BODY: Option<SchemaFn> = R::BODY;
}

/// A handler: an async function of [`Part`]s answering `ApiResult<impl Reply>`. `M` is the
/// tuple of its argument types (it only tells the implementations apart).
pub trait Handler<M> {
    /// Its signature.
    const SIGNATURE: Signature;
}

macro_rules! handler {
    ($($arg:ident),*) => {
        impl<F, Fut, R, $($arg,)*> Handler<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut,
            Fut: Future<Output = ApiResult<R>>,
            R: Reply,
            $($arg: Part,)*
        {
            const SIGNATURE: Signature = {
                let access = None;
                let body = None;
                let query = None;
                let path = None;
                $(
                    let access = or(access, $arg::ACCESS);
                    let body = or(body, $arg::BODY);
                    let query = or(query, $arg::QUERY);
                    let path = or(path, $arg::PATH);
                )*
                let access = match access {
                    Some(a) => a,
                    None => Access::Public,
                };
                Signature { access, body, query, path, status: R::STATUS, response: R::BODY }
            };
        }
    };
}

handler!();
handler!(A1);
handler!(A1, A2);
handler!(A1, A2, A3);
handler!(A1, A2, A3, A4);
handler!(A1, A2, A3, A4, A5);
handler!(A1, A2, A3, A4, A5, A6);

/// The signature of `handler` (at compile time: the route table is a `const`).
pub const fn signature_of<M, H: Handler<M>>(_handler: &H) -> Signature {
    H::SIGNATURE
}
