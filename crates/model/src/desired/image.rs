//! Container image references, checked against the reference grammar registries use
//! (`[registry[:port]/]repository[:tag][@algorithm:hex]`, as in the OCI distribution spec), so a
//! typo fails `validate` instead of a revision that never pulls.

/// Checks `image`; the error says which part is wrong, in words a reader of the file can act on.
pub(crate) fn check_image_reference(image: &str) -> Result<(), String> {
    if image.is_empty() {
        return Err("the image reference is empty".into());
    }
    if let Some(c) = image.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "the image reference contains {c:?}, which no reference may contain"
        ));
    }
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        check_digest(d)?;
    }
    // A `:` after the last `/` starts the tag; one before it belongs to a registry port.
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if let Some(t) = tag {
        check_tag(t)?;
    }
    if name.len() > 255 {
        return Err("the repository name is longer than 255 characters".into());
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    // The first part is a registry when it looks like a host: a dot, a port or `localhost`.
    if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
        check_registry(parts.remove(0))?;
    }
    for p in parts {
        check_path_component(p)?;
    }
    Ok(())
}

fn check_registry(host_port: &str) -> Result<(), String> {
    let (host, port) = match host_port.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host_port, None),
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !host.split('.').all(label_ok) {
        return Err(format!("`{host}` is not a registry host name"));
    }
    if let Some(p) = port
        && (p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(format!("`{p}` is not a registry port"));
    }
    Ok(())
}

/// `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
fn check_path_component(p: &str) -> Result<(), String> {
    let bad = || {
        Err(format!(
            "`{p}` is not a repository name part: use lower-case letters and digits, joined by `.`, `_`, `__` or `-`"
        ))
    };
    if p.is_empty() {
        return Err("the repository name has an empty part (`//`, or a `/` at an end)".into());
    }
    let bytes = p.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return bad();
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &p[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-')) {
            return bad();
        }
    }
    Ok(())
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn check_tag(t: &str) -> Result<(), String> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let ok = t.len() <= 128 && t.chars().next().is_some_and(word) && t.chars().all(|c| word(c) || c == '.' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{t}` is not a tag: up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`"
        ))
    }
}

/// `algorithm:hex`, at least 32 hex digits (sha256 has 64).
fn check_digest(d: &str) -> Result<(), String> {
    let ok = d.split_once(':').is_some_and(|(alg, hex)| {
        !alg.is_empty()
            && alg
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
            && hex.len() >= 32
            && hex.chars().all(|c| c.is_ascii_hexdigit())
    });
    if ok {
        Ok(())
    } else {
        Err(format!("`{d}` is not a digest: write it as sha256: and 64 hex digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::check_image_reference;

    #[test]
    fn accepts_the_usual_forms() {
        let sha = format!("sha256:{}", "a".repeat(64));
        for ok in [
            "nginx",
            "nginx:1.27",
            "example/server:24.8-alpine",
            "docker.io/example/web:3",
            "mcr.microsoft.com/azuredocs/containerapps-helloworld:latest",
            "localhost:5000/app",
            "myregistry.azurecr.io:443/team/app_v2__x:v1.0",
            &format!("ghcr.io/org/app@{sha}"),
            &format!("ghcr.io/org/app:1@{sha}"),
        ] {
            assert_eq!(check_image_reference(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_what_no_registry_serves() {
        for bad in [
            "",
            "not an image !!",
            "Nginx",
            "nginx:",
            "nginx:.1",
            "org//app",
            "app/",
            "-app",
            "app@sha256:xyz",
            "bad_host!.io/app",
            "localhost:port/app",
            "app:tag:again",
        ] {
            assert!(check_image_reference(bad).is_err(), "{bad}");
        }
    }
}
