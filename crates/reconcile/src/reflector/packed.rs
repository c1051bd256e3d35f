//! A cached value kept as its JSON text, deflated. The cache holds every declared app for a whole
//! resync period but a pass reads each only a few times: parsed, an app with the fields it keeps
//! unknown is about three times the size of its text (decision 0035), and its text deflates to
//! about a third (decision 0036). A read inflates and parses: tens of microseconds, a few times
//! per resync period.

use std::io::{Read, Write};
use std::marker::PhantomData;

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, Clone)]
pub(crate) struct Packed<T> {
    deflated: Box<[u8]>,
    of: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned> Packed<T> {
    pub fn new(value: &T) -> Self {
        // The model's types serialize to JSON always (they came from it), and writing to a
        // vector cannot fail.
        let json = serde_json::to_vec(value).expect("a model type serializes");
        let mut encoder = DeflateEncoder::new(Vec::with_capacity(json.len() / 2), Compression::fast());
        encoder.write_all(&json).expect("deflating into memory");
        Packed {
            deflated: encoder.finish().expect("deflating into memory").into_boxed_slice(),
            of: PhantomData,
        }
    }

    pub fn get(&self) -> T {
        let mut json = Vec::with_capacity(self.deflated.len() * 4);
        DeflateDecoder::new(&self.deflated[..])
            .read_to_end(&mut json)
            .expect("the bytes were deflated here");
        serde_json::from_slice(&json).expect("the text was serialized from this type")
    }

    /// Bytes kept (for tests and decisions).
    #[cfg(test)]
    pub fn kept_bytes(&self) -> usize {
        self.deflated.len()
    }
}

#[cfg(test)]
mod tests {
    use aca_model::arm::ContainerApp;
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
    }
}
