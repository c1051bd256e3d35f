//! A cached value kept as its JSON text. The cache holds every declared app for a whole resync
//! period but a pass reads each only a few times: parsed, an app with the fields it keeps
//! unknown is about three times the size of its text (decision 0035).

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, Clone)]
pub(crate) struct Packed<T> {
    json: Box<str>,
    of: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned> Packed<T> {
    pub fn new(value: &T) -> Self {
        Packed {
            // The model's types serialize to JSON always (they came from it).
            json: serde_json::to_string(value)
                .expect("a model type serializes")
                .into_boxed_str(),
            of: PhantomData,
        }
    }

    pub fn get(&self) -> T {
        serde_json::from_str(&self.json).expect("the text was serialized from this type")
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
        assert_eq!(
            serde_json::to_value(packed.get()).unwrap(),
            serde_json::to_value(&app).unwrap()
        );
        assert!(packed.json.contains("futureField"));
    }
}
