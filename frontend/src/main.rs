//! vigil-console: the browser console. This placeholder only proves that the
//! policy crate links into the console; the Yew app replaces it.

fn main() {
    let presets = vigil_policy::IDLE_PRESETS_SECS;
    let _ = presets.len();
}
