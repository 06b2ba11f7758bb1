//! A writer for PostgreSQL's binary `COPY` format, the bulk path the indexer writes through.
//!
//! Layout: the signature `PGCOPY\n\xff\r\n\0`, flags and header-extension length (both 0), then
//! per row an `int16` field count followed by each field as `int32` length + bytes in the type's
//! binary send format, and a trailer `int16 -1`.

use crate::log_meta::LogMeta;
use alloy::primitives::U256;
use bytes::{BufMut, Bytes, BytesMut};

/// A buffer of rows in the binary COPY format.
#[derive(Debug)]
pub struct CopyBuf {
    buf: BytesMut,
    rows: usize,
}

impl Default for CopyBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl CopyBuf {
    /// An empty buffer with the header written.
    pub fn new() -> Self {
        let mut buf = BytesMut::with_capacity(64 * 1024);
        buf.put_slice(b"PGCOPY\n\xff\r\n\0");
        buf.put_i32(0);
        buf.put_i32(0);
        Self { buf, rows: 0 }
    }

    /// Starts a row of `fields` fields.
    pub fn row(&mut self, fields: i16) -> &mut Self {
        self.rows += 1;
        self.buf.put_i16(fields);
        self
    }

    /// The four columns every event row starts with: `chain_id, block_number, log_index, tx_hash`.
    pub fn log_key(&mut self, chain_id: u64, meta: &LogMeta) -> &mut Self {
        self.i64(chain_id as i64)
            .i64(meta.block_number as i64)
            .i32(meta.log_index as i32)
            .bytea(meta.tx_hash.as_slice())
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// A `bigint`.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.put_i32(8);
        self.buf.put_i64(v);
        self
    }

    /// An `integer`.
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.put_i32(4);
        self.buf.put_i32(v);
        self
    }

    /// A `smallint`.
    pub fn i16(&mut self, v: i16) -> &mut Self {
        self.buf.put_i32(2);
        self.buf.put_i16(v);
        self
    }

    /// A `boolean`.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.buf.put_i32(1);
        self.buf.put_u8(v as u8);
        self
    }

    /// A `bytea`.
    pub fn bytea(&mut self, v: &[u8]) -> &mut Self {
        self.buf.put_i32(v.len() as i32);
        self.buf.put_slice(v);
        self
    }

    /// A `text`.
    pub fn text(&mut self, v: &str) -> &mut Self {
        self.bytea(v.as_bytes())
    }

    /// A `jsonb` (binary form: version byte 1, then the JSON text).
    pub fn jsonb(&mut self, json: &str) -> &mut Self {
        self.buf.put_i32(json.len() as i32 + 1);
        self.buf.put_u8(1);
        self.buf.put_slice(json.as_bytes());
        self
    }

    /// A `bytea`, or `NULL`.
    pub fn opt_bytea(&mut self, v: Option<&[u8]>) -> &mut Self {
        match v {
            Some(v) => self.bytea(v),
            None => self.null(),
        }
    }

    /// A `text`, or `NULL`.
    pub fn opt_text(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    /// An `integer`, or `NULL`.
    pub fn opt_i32(&mut self, v: Option<i32>) -> &mut Self {
        match v {
            Some(v) => self.i32(v),
            None => self.null(),
        }
    }

    /// A `bigint`, or `NULL`.
    pub fn opt_i64(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.i64(v),
            None => self.null(),
        }
    }

    /// A SQL `NULL`.
    pub fn null(&mut self) -> &mut Self {
        self.buf.put_i32(-1);
        self
    }

    /// A `numeric` holding an unsigned 256-bit integer.
    pub fn numeric(&mut self, v: U256) -> &mut Self {
        // numeric's binary form: ndigits, weight, sign, dscale, then base-10000 digits, most
        // significant first; trailing zero digits are dropped (weight keeps the magnitude).
        let mut digits: Vec<i16> = Vec::with_capacity(20);
        let mut x = v;
        let base = U256::from(10_000u64);
        while !x.is_zero() {
            let (q, r) = x.div_rem(base);
            digits.push(r.to::<u64>() as i16);
            x = q;
        }
        let weight = digits.len() as i16 - 1;
        let trailing = digits.iter().take_while(|d| **d == 0).count();
        let significant = &digits[trailing..];
        self.buf.put_i32(8 + 2 * significant.len() as i32);
        self.buf.put_i16(significant.len() as i16);
        self.buf.put_i16(if digits.is_empty() { 0 } else { weight });
        self.buf.put_i16(0); // sign: positive
        self.buf.put_i16(0); // dscale
        for d in significant.iter().rev() {
            self.buf.put_i16(*d);
        }
        self
    }

    /// The finished COPY payload (with the trailer).
    pub fn finish(mut self) -> Bytes {
        self.buf.put_i16(-1);
        self.buf.freeze()
    }
}
