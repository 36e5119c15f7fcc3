use berth::prelude::*;

#[session_opened]
async fn no_function(_session: SessionContext) {}

#[session_opened(function = "process", name = "x")]
async fn unknown_key(_session: SessionContext) {}

#[session_closing(function = "%Function%")]
async fn binding(_session: SessionContext) {}

#[session_closing(function = "process")]
fn not_async(_session: SessionContext) {}

#[session_closing(function = "process")]
struct NotAFunction;

fn main() {}
