# Convenience recipes. The README's commands need only cargo.

# The whole story on the local ARM simulator
demo:
    cargo run --release -p aca-operator -- demo

# The test suite, as CI runs it
test:
    cargo test --workspace

# Formatting and lints, as CI checks them
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Check the example desired-state files
validate:
    cargo run -q -p aca-operator -- validate deploy/examples/*.yaml

# The scale benchmark (writes docs/benchmarks.md and docs/benchmarks.svg); not part of the tests
bench:
    cargo build --release -p aca-operator -p aca-bench
    cargo run --release -p aca-bench
