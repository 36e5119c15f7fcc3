//! berth's integration tests, one binary (`cargo test -p berth --test it`): the macro's
//! compile-time behaviour (trybuild), registration, trace context. Functions registered
//! here are looked up by module, so each module sees only its own.

mod macro_ui;
mod registration;
mod trace_context;
