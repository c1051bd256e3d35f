//! The custom role in deploy/ grants exactly the actions of the operations the client can issue.

use std::path::Path;

#[test]
fn the_custom_role_covers_every_client_operation_and_nothing_more() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/terraform/modules/aca-operator/role-actions.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut granted: Vec<String> = serde_json::from_str(&text).unwrap();
    granted.sort();
    let needed: Vec<String> = aca_arm::operations::required_actions()
        .into_iter()
        .map(str::to_string)
        .collect();
    let missing: Vec<&String> = needed.iter().filter(|a| !granted.contains(a)).collect();
    let extra: Vec<&String> = granted.iter().filter(|a| !needed.contains(a)).collect();
    assert!(missing.is_empty(), "the role misses {missing:?}");
    assert!(extra.is_empty(), "the role grants more than the client uses: {extra:?}");
    // Least privilege: no wildcard, no delete.
    assert!(
        granted.iter().all(|a| !a.contains('*') && !a.ends_with("/delete")),
        "{granted:?}"
    );
}
