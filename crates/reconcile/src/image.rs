//! Container image references: repository, tag, and a version read from the tag. Versions are
//! only ever compared, never trusted for more than ordering.

use std::fmt;

/// `registry/repo[:tag][@digest]`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// Everything before the tag (registry and path), e.g. `example/db-server`.
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    /// `sha256:...` when pinned by digest.
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    pub fn parse(image: &'a str) -> Self {
        let (rest, digest) = match image.split_once('@') {
            Some((r, d)) => (r, Some(d)),
            None => (image, None),
        };
        // A `:` after the last `/` starts the tag (a `:` before it is a registry port).
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        match rest[slash..].rfind(':') {
            Some(i) => ImageRef {
                repository: &rest[..slash + i],
                tag: Some(&rest[slash + i + 1..]),
                digest,
            },
            None => ImageRef {
                repository: rest,
                tag: None,
                digest,
            },
        }
    }

    /// The last path segment of the repository, e.g. `db-server`.
    pub fn name(&self) -> &'a str {
        self.repository.rsplit('/').next().unwrap_or(self.repository)
    }

    /// A tag that names no fixed release: `latest`, `head`, their variants (`latest-alpine`), or none
    /// at all (which means `latest`). A digest pins the image whatever the tag says.
    pub fn is_floating(&self) -> bool {
        if self.digest.is_some() {
            return false;
        }
        match self.tag {
            None => true,
            Some(t) => {
                let base = t.split('-').next().unwrap_or(t);
                base.eq_ignore_ascii_case("latest") || base.eq_ignore_ascii_case("head")
            }
        }
    }

    /// The version the tag names (`24.8-alpine` is 24.8, `3` is 3), if it names one.
    pub fn version(&self) -> Option<Version> {
        Version::parse(self.tag?.split('-').next()?)
    }
}

/// A dotted numeric version. `24.8` and `24.8.4.13` compare equal: a shorter version names a series
/// that may contain the longer one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(pub Vec<u32>);

impl Version {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let parts: Option<Vec<u32>> = s.split('.').map(|p| p.parse().ok()).collect();
        parts.filter(|p| !p.is_empty()).map(Version)
    }

    pub fn major(&self) -> u32 {
        self.0[0]
    }

    /// Ordering on the common prefix only (see the type's doc).
    pub fn older_than(&self, other: &Version) -> bool {
        self.0
            .iter()
            .zip(&other.0)
            .find(|(a, b)| a != b)
            .is_some_and(|(a, b)| a < b)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_digests_and_registry_ports_split() {
        let i = ImageRef::parse("myreg:5000/example/db-server:24.8-alpine");
        assert_eq!(i.repository, "myreg:5000/example/db-server");
        assert_eq!(i.tag, Some("24.8-alpine"));
        assert_eq!(i.name(), "db-server");
        assert_eq!(i.version(), Some(Version(vec![24, 8])));
        let d = ImageRef::parse("example/db-server@sha256:abc");
        assert_eq!((d.tag, d.digest), (None, Some("sha256:abc")));
        assert_eq!(d.version(), None);
        assert!(!d.is_floating());
        assert_eq!(ImageRef::parse("myreg:5000/x").tag, None);
    }

    #[test]
    fn floating_tags() {
        for f in ["a/b", "a/b:latest", "a/b:latest-alpine", "a/b:head", "a/b:LATEST"] {
            assert!(ImageRef::parse(f).is_floating(), "{f}");
        }
        for p in ["a/b:24.8", "a/b:24.8-alpine", "a/b:latest@sha256:0"] {
            assert!(!ImageRef::parse(p).is_floating(), "{p}");
        }
    }

    #[test]
    fn versions_compare_on_their_common_prefix() {
        let v = |s| Version::parse(s).unwrap();
        assert!(v("24.3").older_than(&v("24.8")));
        assert!(v("24.8").older_than(&v("25.1")));
        assert!(!v("24.8").older_than(&v("24.8.4.13")));
        assert!(!v("24.8.4.13").older_than(&v("24.8")));
        assert!(!v("25.12").older_than(&v("25.3")));
        assert!(v("25.3").older_than(&v("25.12")), "numeric, not lexical");
        assert_eq!(Version::parse("latest"), None);
        assert_eq!(v("3").major(), 3);
    }
}
