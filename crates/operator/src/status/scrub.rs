//! Removes query strings from URLs in text taken from ARM (a SAS token, a signed operation URL),
//! so no page or document repeats them.

use std::borrow::Cow;

/// `https://h/p?sig=abc and more` → `https://h/p?… and more`. Text with no URL comes back as it
/// is, borrowed (most of it: constant messages).
pub fn scrub(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`' | ')' | ']' | ','))
            .unwrap_or(tail.len());
        let url = &tail[..end];
        match url.find('?') {
            Some(q) => {
                out.push_str(&url[..q]);
                out.push_str("?…");
            }
            None => out.push_str(url),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::scrub;

    #[test]
    fn query_strings_of_urls_are_removed_and_the_rest_is_kept() {
        assert_eq!(
            scrub("GET https://management.azure.com/x?api-version=2025-07-01&sig=s3cr3t failed"),
            "GET https://management.azure.com/x?… failed"
        );
        assert_eq!(
            scrub("a \"https://acct.blob.core.windows.net/c?sv=1&sig=abc\", b"),
            "a \"https://acct.blob.core.windows.net/c?…\", b"
        );
        assert_eq!(
            scrub("clickhouse://langfuse-clickhouse:9000"),
            "clickhouse://langfuse-clickhouse:9000"
        );
        assert_eq!(scrub("what? no url here"), "what? no url here");
        assert!(matches!(scrub("no url here"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(scrub("x://a?b y://c?d"), "x://a?… y://c?…");
    }
}
