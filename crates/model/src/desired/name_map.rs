//! [`NameMap`]: the desired state's maps by name (a stack's storages, an app's secrets and
//! environment variables per container), sorted like a `BTreeMap` but kept as one list, of
//! exact size once collected or shrunk. They hold one to a few entries, and a daemon keeps thousands of stacks parsed: a
//! `BTreeMap` allocates a node of eleven slots for its first entry, which made a parsed stack
//! about twice its size (decision 0036).

use std::fmt;

/// Entries sorted by name, each name once.
#[derive(Clone, PartialEq, Eq)]
pub struct NameMap<V> {
    entries: Vec<(String, V)>,
}

impl<V> Default for NameMap<V> {
    fn default() -> Self {
        NameMap { entries: Vec::new() }
    }
}

impl<V> NameMap<V> {
    pub fn new() -> Self {
        Self::default()
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_str().cmp(name))
    }

    /// Inserts or replaces; answers the replaced value.
    pub fn insert(&mut self, name: String, value: V) -> Option<V> {
        match self.find(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (name, value));
                None
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&V> {
        self.find(name).ok().map(|i| &self.entries[i].1)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// In name order, as every iteration below.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&String, &V)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// Gives back the room left over from building it.
    pub fn shrink_to_fit(&mut self) {
        self.entries.shrink_to_fit();
    }
}

impl<V> FromIterator<(String, V)> for NameMap<V> {
    /// A later entry of the same name replaces an earlier one, as `BTreeMap` does.
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let mut map = NameMap::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map.shrink_to_fit();
        map
    }
}

impl<const N: usize, V> From<[(String, V); N]> for NameMap<V> {
    fn from(entries: [(String, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<'a, V> IntoIterator for &'a NameMap<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (String, V)>, fn(&'a (String, V)) -> (&'a String, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl<V> IntoIterator for NameMap<V> {
    type Item = (String, V);
    type IntoIter = std::vec::IntoIter<(String, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<V> std::ops::Index<&str> for NameMap<V> {
    type Output = V;

    /// Panics when the name is absent, as `BTreeMap`'s index does.
    fn index(&self, name: &str) -> &V {
        self.get(name).unwrap_or_else(|| panic!("no entry named `{name}`"))
    }
}

impl<V: fmt::Debug> fmt::Debug for NameMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::NameMap;

    #[test]
    fn it_reads_like_a_sorted_map_and_keeps_no_spare_room() {
        let mut map: NameMap<u32> = [("b".to_string(), 2), ("a".to_string(), 1), ("c".to_string(), 3)].into();
        assert_eq!(map.keys().map(String::as_str).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(map.entries.capacity(), 3);
        assert_eq!(map.insert("b".into(), 20), Some(2));
        assert_eq!(map.insert("0".into(), 0), None);
        assert_eq!(map.get("b"), Some(&20));
        assert_eq!(map.get("x"), None);
        assert!(map.contains_key("0") && !map.contains_key("d"));
        assert_eq!(map.values().copied().collect::<Vec<_>>(), [0, 1, 20, 3]);
        assert_eq!(format!("{map:?}"), r#"{"0": 0, "a": 1, "b": 20, "c": 3}"#);
        let repeated: NameMap<u32> = [("a".to_string(), 1), ("a".to_string(), 2)].into_iter().collect();
        assert_eq!((repeated.len(), repeated.get("a")), (1, Some(&2)));
    }
}
