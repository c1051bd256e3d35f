//! Plain values the trait's methods take and give.

/// A value and the ETag it was read with.
#[derive(Debug, Clone, PartialEq)]
pub struct Tagged<T> {
    pub value: T,
    pub etag: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionAction {
    Activate,
    Deactivate,
    Restart,
}

/// Every item of a list and how many pages (`nextLink` answers) it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub pages: u32,
}
