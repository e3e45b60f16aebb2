//! HTML reports of statistics and anomalies, made for a person to look at.

mod anomalies_report;
pub mod html;
mod statistics_report;

pub use anomalies_report::anomalies_html;
pub use statistics_report::statistics_html;
