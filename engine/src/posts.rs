//! What requests, offers and listings share: checks of their free text
//! and the lookup of a record by its engine-numbered id.

use crate::config::EngineConfig;
use crate::reject::{Reject, TextField};
use crate::segmented::Segmented;

/// Fails unless `text` is at most `max` characters.
pub(crate) fn check_text(text: &str, max: u32, field: TextField) -> Result<(), Reject> {
    if text.chars().count() > max as usize {
        return Err(Reject::TextTooLong { field, max });
    }
    Ok(())
}

/// Fails unless `text` says something and is at most `max` characters.
pub(crate) fn check_said(text: &str, max: u32, field: TextField) -> Result<(), Reject> {
    if text.trim().is_empty() {
        return Err(Reject::TextBlank { field });
    }
    check_text(text, max, field)
}

/// Fails unless `title` is non-blank and at most the configured length.
pub(crate) fn check_title(title: &str, config: &EngineConfig) -> Result<(), Reject> {
    if title.trim().is_empty() {
        return Err(Reject::TitleEmpty);
    }
    check_text(title, config.title_chars_max, TextField::Title)
}

/// Fails unless `description` is at most the configured length.
pub(crate) fn check_description(description: &str, config: &EngineConfig) -> Result<(), Reject> {
    check_text(description, config.text_chars_max, TextField::Description)
}

/// Record `id` of `records` (ids count from 1), or `missing`.
pub(crate) fn numbered<T>(records: &Segmented<T>, id: u64, missing: Reject) -> Result<&T, Reject> {
    usize::try_from(id.wrapping_sub(1))
        .ok()
        .and_then(|i| records.get(i))
        .ok_or(missing)
}
