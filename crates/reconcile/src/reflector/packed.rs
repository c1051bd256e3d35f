//! A cached value kept as its JSON text, deflated. The cache holds every declared app for a whole
//! resync period but a pass reads each only a few times: parsed, an app with the fields it keeps
//! unknown is about three times the size of its text (decision 0035), and its text deflates to
//! about a third (decision 0036). A read inflates and parses it.
//!
//! Each thread keeps one compressor and one decompressor: building one allocates and zeroes
//! hundreds of KB, far more than the few KB of an entry.
//!
//! Apps look alike (the same keys; in a fleet, the same images and settings), and one app's text
//! alone gives deflate little to match. [`Packed::shared`] deflates against a preset dictionary:
//! the text of the first value of its type the process packed (decision 0037). Each entry keeps
//! its dictionary (shared), so it always reads back. The dictionary outlives entries, so no value
//! goes into one: every `value` string is blanked, and secrets and storage lists are never packed
//! against one.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use serde::Serialize;
use serde::de::DeserializeOwned;

thread_local! {
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::fast(), false));
    static INFLATE: RefCell<Decompress> = RefCell::new(Decompress::new(false));
}

/// Deflate looks back 32 KiB at most: a longer dictionary would only be kept, not used.
const MAX_DICTIONARY: usize = 32 * 1024;

/// A type's name and its dictionary.
type Dictionary = (&'static str, Arc<[u8]>);

/// Each type's dictionary, set by its first [`Packed::shared`].
static DICTIONARIES: Mutex<Vec<Dictionary>> = Mutex::new(Vec::new());

#[derive(Clone)]
pub(crate) struct Packed<T> {
    deflated: Box<[u8]>,
    /// The JSON's length: a read inflates into exactly that.
    len: usize,
    /// The preset dictionary it was deflated against, if any.
    dictionary: Option<Arc<[u8]>>,
    of: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned> Packed<T> {
    /// Deflated on its own: for values that must not outlive their entry (secrets).
    pub fn new(value: &T) -> Self {
        Self::pack_json(to_json(value), None)
    }

    /// Deflated against its type's dictionary (the first value of the type packed so).
    pub fn shared(value: &T) -> Self {
        let dictionary = {
            let mut all = DICTIONARIES.lock().unwrap_or_else(|e| e.into_inner());
            let name = std::any::type_name::<T>();
            match all.iter().find(|(n, _)| *n == name) {
                Some((_, d)) => d.clone(),
                None => {
                    let d: Arc<[u8]> = Arc::from(dictionary_from(value));
                    all.push((name, d.clone()));
                    d
                }
            }
        };
        Self::pack_json(to_json(value), Some(dictionary))
    }

    fn pack_json(json: Vec<u8>, dictionary: Option<Arc<[u8]>>) -> Self {
        Packed {
            deflated: deflate(&json, dictionary.as_deref()).into_boxed_slice(),
            len: json.len(),
            dictionary,
            of: PhantomData,
        }
    }

    pub fn get(&self) -> T {
        serde_json::from_slice(&inflate(&self.deflated, self.len, self.dictionary.as_deref()))
            .expect("the text was serialized from this type")
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

/// A dictionary from a value's text: every `value` string blanked (environment variables, and
/// secrets should one ever come back with one), since the dictionary outlives the entry; the keys,
/// names, images and ids are what alike entries share. Its end, as deflate reads no further back.
fn dictionary_from<T: Serialize>(value: &T) -> Vec<u8> {
    fn blank(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    match v {
                        serde_json::Value::String(s) if k == "value" => s.clear(),
                        _ => blank(v),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(blank),
            _ => {}
        }
    }
    let mut tree = serde_json::to_value(value).expect("a model type serializes");
    blank(&mut tree);
    let text = to_json(&tree);
    text[text.len().saturating_sub(MAX_DICTIONARY)..].to_vec()
}

/// The model's types serialize to JSON always (they came from it).
fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("a model type serializes")
}

fn deflate(input: &[u8], dictionary: Option<&[u8]>) -> Vec<u8> {
    DEFLATE.with_borrow_mut(|deflater| {
        deflater.reset();
        if let Some(d) = dictionary {
            deflater
                .set_dictionary(d)
                .expect("a dictionary set right after a reset");
        }
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

fn inflate(input: &[u8], len: usize, dictionary: Option<&[u8]>) -> Vec<u8> {
    INFLATE.with_borrow_mut(|inflater| {
        inflater.reset(false);
        if let Some(d) = dictionary {
            inflater
                .set_dictionary(d)
                .expect("a dictionary set right after a reset");
        }
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

    /// Apps alike deflate against the first one's text to under half of what they take alone,
    /// and read back whole; another type has its own dictionary.
    #[test]
    fn alike_apps_share_a_dictionary() {
        // A type of its own: the process's first app (another test's) sets the apps' dictionary.
        #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
        #[serde(transparent)]
        struct Web(ContainerApp);
        let app = |i: usize| -> Web {
            let env: Vec<_> = (0..12)
                .map(|k| json!({"name": format!("SETTING_{k}"), "value": format!("value {k}")}))
                .collect();
            Web(serde_json::from_value(json!({
                "id": format!("/subscriptions/s/resourceGroups/rg-{i}/providers/Microsoft.App/containerApps/web-{i}"),
                "name": format!("web-{i}"),
                "properties": {"template": {"containers": [{"name": "web", "image": "example/web:1", "env": env}]}}
            }))
            .unwrap())
        };
        let first = Packed::shared(&app(0));
        let (alone, shared) = (Packed::new(&app(1)), Packed::shared(&app(1)));
        assert!(first.dictionary.is_some() && shared.dictionary.is_some() && alone.dictionary.is_none());
        assert!(
            shared.kept_bytes() * 2 < alone.kept_bytes(),
            "{} bytes with the dictionary, {} without",
            shared.kept_bytes(),
            alone.kept_bytes()
        );
        for i in 0..3 {
            assert_eq!(Packed::shared(&app(i)).get(), app(i));
        }
        assert_eq!((first.get(), alone.get(), shared.get()), (app(0), app(1), app(1)));
        // Strings have their own dictionary, not the apps' text.
        let text = Packed::shared(&"x".repeat(100));
        assert_eq!(text.get(), "x".repeat(100));
        assert!(!Arc::ptr_eq(
            text.dictionary.as_ref().unwrap(),
            shared.dictionary.as_ref().unwrap()
        ));
    }

    /// The dictionary outlives the first app: its environment variables' values are not in it.
    #[test]
    fn a_dictionary_keeps_no_values() {
        #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
        #[serde(transparent)]
        struct Db(ContainerApp);
        let db: Db = Db(serde_json::from_value(json!({
            "name": "db",
            "properties": {
                "configuration": {"secrets": [{"name": "pw", "value": "hunter2-in-a-secret"}]},
                "template": {"containers": [{"name": "db", "image": "example/db:1",
                    "env": [{"name": "DB_PASSWORD", "value": "hunter2-in-the-env"}]}]}
            }
        }))
        .unwrap());
        let packed = Packed::shared(&db);
        let dictionary = packed.dictionary.as_deref().unwrap();
        let text = String::from_utf8_lossy(dictionary);
        assert!(text.contains("DB_PASSWORD") && text.contains("example/db:1"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(packed.get(), db);
    }

    #[test]
    fn debug_never_shows_the_text() {
        let secrets: Vec<Secret> =
            serde_json::from_value(json!([{"name": "db-password", "value": "hunter2-s3cr3t"}])).unwrap();
        let shown = format!("{:?}", Packed::new(&secrets));
        assert!(!shown.contains("hunter2") && !shown.contains("db-password"), "{shown}");
    }
}
