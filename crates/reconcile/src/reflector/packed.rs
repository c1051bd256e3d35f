//! A cached value kept as its JSON text, deflated. The cache holds every declared app for a whole
//! resync period but a pass reads each only a few times: parsed, an app with the fields it keeps
//! unknown is about three times the size of its text (decision 0035), and its text deflates to
//! about a third (decision 0036). A read inflates and parses it.
//!
//! Each thread keeps one compressor and one decompressor: building one allocates and zeroes
//! hundreds of KB, far more than the few KB of an entry.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use serde::Serialize;
use serde::de::DeserializeOwned;

thread_local! {
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::fast(), false));
    static INFLATE: RefCell<Decompress> = RefCell::new(Decompress::new(false));
}

#[derive(Clone)]
pub(crate) struct Packed<T> {
    deflated: Box<[u8]>,
    /// The JSON's length: a read inflates into exactly that.
    len: usize,
    of: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned> Packed<T> {
    pub fn new(value: &T) -> Self {
        // The model's types serialize to JSON always (they came from it).
        let json = serde_json::to_vec(value).expect("a model type serializes");
        Packed {
            deflated: deflate(&json).into_boxed_slice(),
            len: json.len(),
            of: PhantomData,
        }
    }

    pub fn get(&self) -> T {
        serde_json::from_slice(&inflate(&self.deflated, self.len)).expect("the text was serialized from this type")
    }

    /// Bytes kept (for tests and decisions).
    #[cfg(test)]
    pub fn kept_bytes(&self) -> usize {
        self.deflated.len()
    }
}

/// Never the text: a cached list of secrets holds their values.
impl<T> fmt::Debug for Packed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Packed({} bytes of JSON in {})", self.len, self.deflated.len())
    }
}

fn deflate(input: &[u8]) -> Vec<u8> {
    DEFLATE.with_borrow_mut(|deflater| {
        deflater.reset();
        let mut out = Vec::with_capacity(input.len() / 2 + 64);
        loop {
            let read = deflater.total_in() as usize;
            // In memory, deflating fails only on a bug; `Ok`/`BufError` ask for more room.
            match deflater
                .compress_vec(&input[read..], &mut out, FlushCompress::Finish)
                .expect("deflating in memory")
            {
                Status::StreamEnd => return out,
                Status::Ok | Status::BufError => out.reserve(out.capacity()),
            }
        }
    })
}

fn inflate(input: &[u8], len: usize) -> Vec<u8> {
    INFLATE.with_borrow_mut(|inflater| {
        inflater.reset(false);
        let mut out = Vec::with_capacity(len);
        let status = inflater
            .decompress_vec(input, &mut out, FlushDecompress::Finish)
            .expect("the bytes were deflated here");
        assert!(
            status == Status::StreamEnd && out.len() == len,
            "inflated {} of {len} bytes ({status:?})",
            out.len()
        );
        out
    })
}

#[cfg(test)]
mod tests {
    use aca_model::arm::{ContainerApp, Secret};
    use serde_json::json;

    use super::*;

    #[test]
    fn an_app_comes_back_as_it_went_in_unknown_fields_included() {
        let app: ContainerApp = serde_json::from_value(json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/a",
            "name": "a",
            "properties": {"template": {"scale": {"minReplicas": 1, "maxReplicas": 1}}, "futureField": {"x": [1, 2]}},
            "systemData": {"lastModifiedAt": "2026-11-25T10:00:00Z"}
        }))
        .unwrap();
        let packed = Packed::new(&app);
        let back = packed.get();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&app).unwrap()
        );
        assert_eq!(back.properties.unwrap().extra["futureField"], json!({"x": [1, 2]}));
    }

    #[test]
    fn an_app_is_kept_in_less_room_than_its_text() {
        let env: Vec<_> = (0..20)
            .map(|i| json!({"name": format!("SETTING_{i}"), "value": format!("value of setting {i}")}))
            .collect();
        let app: ContainerApp = serde_json::from_value(json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/a",
            "name": "a",
            "properties": {"template": {"containers": [{"name": "web", "image": "example/web:1", "env": env}]}}
        }))
        .unwrap();
        let text = serde_json::to_vec(&app).unwrap().len();
        let packed = Packed::new(&app);
        assert!(
            packed.kept_bytes() * 2 < text,
            "{} bytes kept for {text} of text",
            packed.kept_bytes()
        );
        assert_eq!(packed.get(), app);
    }

    /// The per-thread compressor is reset between entries: each comes back whole, one that
    /// does not compress (random-looking text larger than its first guess of room) included.
    #[test]
    fn entries_packed_one_after_another_come_back_whole() {
        let noise: String = (0u64..4000)
            .map(|i| char::from(b'!' + (i.wrapping_mul(2_654_435_761) >> 7) as u8 % 90))
            .collect();
        let values = ["a".to_string(), noise.clone(), "b".repeat(10_000), noise];
        let packed: Vec<Packed<String>> = values.iter().map(Packed::new).collect();
        for (p, v) in packed.iter().zip(&values).rev() {
            assert_eq!(&p.get(), v);
        }
    }

    #[test]
    fn debug_never_shows_the_text() {
        let secrets: Vec<Secret> =
            serde_json::from_value(json!([{"name": "db-password", "value": "hunter2-s3cr3t"}])).unwrap();
        let shown = format!("{:?}", Packed::new(&secrets));
        assert!(!shown.contains("hunter2") && !shown.contains("db-password"), "{shown}");
    }
}
