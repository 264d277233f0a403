//! A confirmation before an action with consequences: says what will
//! happen, focuses "Cancel" (the safe choice), Escape cancels.

use yew::prelude::*;

/// The dialog; `on_confirm` and `on_cancel` close it.
pub fn confirm_dialog(
    title: &str,
    consequences: &str,
    confirm_label: &str,
    on_confirm: Callback<()>,
    on_cancel: Callback<()>,
) -> Html {
    let confirm = Callback::from(move |_: MouseEvent| on_confirm.emit(()));
    let cancel = {
        let on_cancel = on_cancel.clone();
        Callback::from(move |_: MouseEvent| on_cancel.emit(()))
    };
    let keys = Callback::from(move |e: KeyboardEvent| {
        if e.key() == "Escape" {
            on_cancel.emit(());
        }
    });
    html! {
        <div class="backdrop" onkeydown={keys}>
            <div class="dialog" role="alertdialog" aria-modal="true"
                 aria-labelledby="confirm-title" aria-describedby="confirm-text">
                <h2 id="confirm-title">{ title }</h2>
                <p id="confirm-text">{ consequences }</p>
                <div class="row">
                    <button class="danger" onclick={confirm}>{ confirm_label }</button>
                    <button autofocus=true onclick={cancel}>{ "Cancel" }</button>
                </div>
            </div>
        </div>
    }
}
