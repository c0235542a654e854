//! The panel's widgets, one per file, each with its `.ui` template.

pub mod budget_dialog;
pub mod connection_row;
pub mod interface_card;
pub mod throughput_graph;
pub mod window;

pub use budget_dialog::BudgetDialog;
pub use connection_row::ConnectionRow;
pub use interface_card::InterfaceCard;
pub use throughput_graph::ThroughputGraph;
pub use window::Window;
