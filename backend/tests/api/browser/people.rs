//! People in the console (issue 18): deactivating and reactivating on the
//! team page, and "Change password" from any signed-in page.

use reqwest::StatusCode;
use serde_json::json;

use super::fixture::{axe_check, axe_script, Browser, Console};
use crate::helpers::PASSWORD;

#[tokio::test]
async fn an_admin_deactivates_an_agent_who_is_signed_out_and_refused_until_reactivated() {
    let app = Console::start().await;
    let laptop = app.login("agent1@demo.test").await;
    let _phone = app.login("agent1@demo.test").await;
    let axe = axe_script();
    let mut found = Vec::new();
    let admin = Browser::admin_at(&app, "/admin/team").await;
    let deactivate = admin
        .named("button", "Deactivate: agent1@demo.test", 10)
        .await;
    deactivate.click().await.unwrap();
    let dialog = admin
        .named("alertdialog", "Deactivate Alex Agent?", 5)
        .await;
    let said = dialog.text().await.unwrap();
    assert!(said.contains("All 2 of their live sessions end."), "{said}");
    assert!(said.contains("cannot sign in"), "{said}");
    axe_check(&admin, &axe, "team, deactivate dialog", &mut found).await;
    admin.click_button_in(&dialog, "Cancel").await;
    admin.dialog_closes(2).await;
    assert_eq!(
        app.get("/api/session", &laptop).await.status(),
        StatusCode::OK
    );

    deactivate.click().await.unwrap();
    let dialog = admin.dialog(5).await;
    admin.click_button_in(&dialog, "Deactivate").await;
    admin
        .saying("status", "Deactivated Alex Agent: 2 session(s) ended.", 10)
        .await;
    app.assert_signed_out(&laptop, "revoked").await;
    let refused = app
        .post_login(json!({"account": "demo", "email": "agent1@demo.test", "password": PASSWORD}))
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let reactivate = admin
        .named("button", "Reactivate: agent1@demo.test", 10)
        .await;
    axe_check(&admin, &axe, "team, a deactivated person", &mut found).await;
    admin.screenshot("team-deactivated").await;
    reactivate.click().await.unwrap();
    admin
        .saying(
            "status",
            "Reactivated Alex Agent: they can sign in again.",
            10,
        )
        .await;
    admin
        .named("button", "Deactivate: agent1@demo.test", 10)
        .await;
    let again = app
        .post_login(json!({"account": "demo", "email": "agent1@demo.test", "password": PASSWORD}))
        .await;
    assert_eq!(again.status(), StatusCode::OK);

    // The last person who manages security stays, and the page says why.
    admin
        .named("button", "Deactivate: admin@demo.test", 5)
        .await
        .click()
        .await
        .unwrap();
    let dialog = admin.dialog(5).await;
    admin.click_button_in(&dialog, "Deactivate").await;
    admin
        .saying("status", "last active person who manages security", 10)
        .await;
    assert!(found.is_empty(), "axe: {found:#?}");
}

#[tokio::test]
async fn change_password_is_on_every_signed_in_page_and_ends_the_other_sessions() {
    let app = Console::start().await;
    let other = app.login("agent2@demo.test").await;
    let axe = axe_script();
    let mut found = Vec::new();
    let b = Browser::signed_in(&app, "/login", "agent2@demo.test").await;
    let nav = b.named("navigation", "Main", 10).await;
    b.named_in(Some(&nav), "link", "Change password", 5)
        .await
        .click()
        .await
        .unwrap();
    b.field("Current password").await;
    assert_eq!(b.client.title().await.unwrap(), "Change password — Vigil");
    axe_check(&b, &axe, "change password", &mut found).await;

    // A wrong current password.
    b.type_into("Current password", "not-the-password").await;
    b.type_into("New password", "a long and unusual passphrase 42")
        .await;
    b.click_button("Change password").await;
    b.saying("status", "Your current password is not right.", 10)
        .await;
    assert_eq!(
        app.get("/api/session", &other).await.status(),
        StatusCode::OK
    );

    // A new password the rule refuses: the reasons, on the field.
    b.field("Current password").await.clear().await.unwrap();
    b.field("New password").await.clear().await.unwrap();
    b.type_into("Current password", PASSWORD).await;
    b.type_into("New password", "short").await;
    b.click_button("Change password").await;
    b.saying("status", "15", 10).await;
    let new_field = b.field("New password").await;
    assert_eq!(
        new_field.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    axe_check(&b, &axe, "change password, refused", &mut found).await;

    b.field("Current password").await.clear().await.unwrap();
    b.field("New password").await.clear().await.unwrap();
    let new = "a long and unusual passphrase 42";
    b.type_into("Current password", PASSWORD).await;
    b.type_into("New password", new).await;
    b.click_button("Change password").await;
    b.saying(
        "status",
        "Password changed. Your 1 other session has ended.",
        10,
    )
    .await;
    b.screenshot("change-password").await;
    app.assert_signed_out(&other, "revoked").await;
    // This browser stays signed in, and the new password is the one now.
    b.named("navigation", "Main", 5).await;
    let res = app
        .post_login(json!({"account": "demo", "email": "agent2@demo.test", "password": new}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(found.is_empty(), "axe: {found:#?}");
}
