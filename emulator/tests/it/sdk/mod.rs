//! The official Azure SDKs against the embedded broker: each scenario script in
//! `tests/sdk/{python,js}/` is a test, once per SDK (`sdk::python::…`, `sdk::js::…`).

mod harness;
#[macro_use]
mod scenarios;

mod js;
mod python;
