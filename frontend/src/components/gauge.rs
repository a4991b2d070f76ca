//! The attachments gauge of "Nouveau message" (manual part 3 §4): the bar, "Total : … Mo /
//! 25 Mo" and the count "n/5". The figures come from `crate::compose`.

use leptos::prelude::*;
use medimail_api::limits;

use crate::compose::{gauge_text, gauge_width};

#[component]
pub fn FileGauge(
    /// Total size of the message's files, in bytes.
    #[prop(into)]
    total: Signal<u64>,
    /// Number of files.
    #[prop(into)]
    count: Signal<usize>,
) -> impl IntoView {
    view! {
        <div class="gauge" aria-hidden="true">
            <div class="gauge-fill" style:width=move || gauge_width(total.get())></div>
        </div>
        <p id="gauge-text">{move || gauge_text(total.get())}</p>
        <p id="file-count">{move || format!("{}/{}", count.get(), limits::MAX_ATTACHMENTS)}</p>
    }
}
