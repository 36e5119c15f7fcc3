//! Compile-time behaviour of `#[service_bus_trigger]`: what compiles, and the errors of what
//! does not (`tests/ui/fail/*.stderr`; regenerate with `TRYBUILD=overwrite` and review).

#[test]
fn service_bus_trigger_ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
