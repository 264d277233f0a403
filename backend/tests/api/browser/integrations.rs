//! `/admin/integrations` in the browser: API tokens made, copied once,
//! listed and revoked by an admin, and what the API says of the token
//! before and after.

use reqwest::StatusCode;

use super::fixture::{axe_check, axe_script, eventually, Browser, Console};
use crate::helpers::TestApp;

/// `GET /api/admin/sessions` as a script calls it: the bearer token only.
async fn sessions_with(app: &TestApp, token: &str) -> StatusCode {
    app.client
        .get(app.url("/api/admin/sessions"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn an_admin_creates_copies_and_revokes_a_token_and_the_api_then_refuses_it() {
    let app = Console::start().await;
    let axe = axe_script();
    let mut found = Vec::new();
    let b = Browser::admin_at(&app, "/admin/integrations").await;
    b.grant("clipboard-read").await;
    b.grant("clipboard-write").await;
    b.named("heading", "API tokens", 20).await;
    assert_eq!(b.client.title().await.unwrap(), "Integrations — Vigil");
    let nav = b.named("navigation", "Main", 5).await;
    let here = b.named_in(Some(&nav), "link", "Integrations", 5).await;
    assert_eq!(
        here.attr("aria-current").await.unwrap().as_deref(),
        Some("page")
    );
    eventually(10, "the page says there are no tokens", async || {
        b.text("main").await.contains("No API tokens.")
    })
    .await;
    axe_check(&b, &axe, "integrations", &mut found).await;

    // Sent empty: the name's error is its description, nothing is made.
    b.click_button("Create token").await;
    let name = b.field("Name").await;
    eventually(5, "the name is marked invalid", async || {
        name.attr("aria-invalid").await.unwrap().as_deref() == Some("true")
    })
    .await;
    assert!(!b.description(&name).await.is_empty());
    axe_check(&b, &axe, "integrations, errors", &mut found).await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM api_tokens").await, 0);

    // A token for offboarding scripts: one scope, the default expiry.
    b.type_into("Name", "offboarding").await;
    let scope = b
        .field("See live sessions and the team (sessions:read)")
        .await;
    assert_eq!(b.role_and_name(&scope).await.0, "checkbox");
    scope.click().await.unwrap();
    b.click_button("Create token").await;
    b.saying("status", "Created offboarding.", 10).await;
    // The form is cleared for the next token.
    assert_eq!(
        b.field("Name")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("")
    );
    assert_eq!(
        scope.prop("checked").await.unwrap().as_deref(),
        Some("false")
    );
    let shown = b.named("region", "New token", 5).await;
    let secret = b
        .field_in(Some(&shown), "Token offboarding", 5)
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(
        secret.starts_with("vigil_") && secret.len() == 70,
        "{secret}"
    );
    assert!(b
        .description(&b.field("Token offboarding").await)
        .await
        .contains("Shown once"));
    b.screenshot("integrations-token-created").await;
    axe_check(&b, &axe, "integrations, a new token", &mut found).await;
    b.click_button_in(&shown, "Copy the token").await;
    b.saying("status", "Copied the token.", 5).await;
    assert_eq!(b.clipboard().await, secret, "the clipboard holds the token");
    assert_eq!(sessions_with(&app, &secret).await, StatusCode::OK);

    // On a phone, the long secret beside its button never makes the page
    // scroll sideways.
    b.client.set_window_size(390, 844).await.unwrap();
    b.field("Token offboarding").await;
    b.screenshot("integrations-phone").await;
    b.assert_fits_the_width("/admin/integrations").await;
    b.client.set_window_size(1280, 1000).await.unwrap();

    // Listed with its scope and expiry, never with the secret.
    b.list_holds("API tokens", 1, 10).await;
    let item = b
        .list_items("API tokens")
        .await
        .remove(0)
        .text()
        .await
        .unwrap();
    assert!(item.contains("offboarding"), "{item}");
    assert!(item.contains("sessions:read"), "{item}");
    assert!(
        item.contains("Expires") && item.contains("Last used"),
        "{item}"
    );
    b.click_button("Done").await;
    eventually(5, "the secret is gone from the page", async || {
        !b.has_field("Token offboarding").await
    })
    .await;
    b.client.refresh().await.unwrap();
    b.list_holds("API tokens", 1, 20).await;
    let page = b.text("body").await;
    assert!(!page.contains(&secret), "shown once only");
    let listed = app
        .get_json::<serde_json::Value>("/api/admin/tokens", &app.login("admin@demo.test").await)
        .await;
    assert_eq!(listed[0]["scopes"], serde_json::json!(["sessions:read"]));
    assert!(listed[0]["expires_at"].is_string(), "30 days by default");
    b.screenshot("integrations").await;
    axe_check(&b, &axe, "integrations, a token listed", &mut found).await;

    // Revoked after a confirmation that says what follows; Cancel first
    // changes nothing.
    b.click_button("Revoke offboarding").await;
    let dialog = b.named("alertdialog", "Revoke offboarding?", 5).await;
    assert!(dialog
        .text()
        .await
        .unwrap()
        .contains("Every request with this token fails from now on."));
    axe_check(&b, &axe, "integrations, revoke confirmation", &mut found).await;
    b.click_button_in(&dialog, "Cancel").await;
    b.dialog_closes(2).await;
    assert_eq!(sessions_with(&app, &secret).await, StatusCode::OK);
    b.click_button("Revoke offboarding").await;
    let dialog = b.named("alertdialog", "Revoke offboarding?", 5).await;
    b.screenshot("integrations-revoke").await;
    b.click_button_in(&dialog, "Revoke token").await;
    b.saying("status", "Revoked offboarding.", 10).await;
    eventually(5, "the list is empty", async || {
        b.text("main").await.contains("No API tokens.")
    })
    .await;
    assert_eq!(
        sessions_with(&app, &secret).await,
        StatusCode::UNAUTHORIZED,
        "the revoked token is refused"
    );
    assert!(found.is_empty(), "axe-core found:\n{}", found.join("\n"));
}
