//! The `#[service_bus_trigger]` attribute of Berth. Use it through `berth`, not directly.

use proc_macro::TokenStream;

/// Placeholder until the real macro lands: re-emits the item.
#[proc_macro_attribute]
pub fn service_bus_trigger(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
