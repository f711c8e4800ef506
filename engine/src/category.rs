//! The fixed list of categories that requests and listings are filed under.

use serde::{Deserialize, Serialize};

/// What a request or listing is about.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Category {
    /// Datasets, feeds, scraping.
    Data,
    /// Access to an API.
    Api,
    /// GPU and CPU time, storage.
    Compute,
    /// Finding, reading and summarising sources.
    Research,
    /// Text: copy, articles, documentation.
    Writing,
    /// Translation and localisation.
    Translation,
    /// Images, audio, video, design.
    Creative,
    /// Code, integrations, tests.
    Development,
    /// Agents, workflows, data processing.
    Automation,
    /// Growth, outreach, SEO.
    Marketing,
    /// Legal, finance, compliance.
    LegalFinance,
    /// Teaching and tutoring.
    Education,
    /// Other professional services.
    Services,
    /// Anything else.
    Other,
}

impl Category {
    /// Every category, in a stable order.
    pub const ALL: [Category; 14] = [
        Category::Data,
        Category::Api,
        Category::Compute,
        Category::Research,
        Category::Writing,
        Category::Translation,
        Category::Creative,
        Category::Development,
        Category::Automation,
        Category::Marketing,
        Category::LegalFinance,
        Category::Education,
        Category::Services,
        Category::Other,
    ];
}
