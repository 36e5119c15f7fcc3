//! The Berth host runtime.
