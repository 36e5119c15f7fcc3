// Functions in a nested module and inside a function body register with their paths.
mod billing {
    use berth::prelude::*;

    #[service_bus_trigger(queue = "invoices")]
    pub(crate) async fn invoice(_message: Message) {}
}

fn main() {
    use berth::prelude::*;

    #[service_bus_trigger(queue = "local")]
    async fn local(_message: Message) {}

    let mut paths: Vec<_> = berth::host::registrations().map(|r| r.rust_path).collect();
    paths.sort();
    let root = module_path!();
    assert_eq!(
        paths,
        [format!("{root}::billing::invoice"), format!("{root}::local")]
    );
    let _ = billing::invoice;
}
