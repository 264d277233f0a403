//! The webhooks section of `/admin/integrations` in the browser: an admin
//! adds an endpoint (a real receiver on loopback), sees its secret once,
//! watches a delivery arrive in the log, retries it, enables it again
//! after it was disabled, and removes the endpoint; axe-core on each
//! screen.

use super::fixture::{axe_check, axe_script, eventually, Browser, Console};
use crate::webhooks::{Mode, Receiver};

#[tokio::test]
async fn an_admin_adds_a_webhook_sees_its_deliveries_retries_one_and_removes_it() {
    let app = Console::for_sso().await;
    let receiver = Receiver::start(Mode::Ok).await;
    let axe = axe_script();
    let mut found = Vec::new();
    let b = Browser::admin_at(&app, "/admin/integrations").await;
    b.grant("clipboard-read").await;
    b.grant("clipboard-write").await;
    b.named("heading", "Webhooks", 20).await;
    eventually(10, "the page says there are no webhooks", async || {
        b.text("main").await.contains("No webhooks.")
    })
    .await;

    // Sent without events: the server says why, nothing is stored.
    b.type_into("URL", &receiver.url).await;
    b.click_button("Add webhook").await;
    eventually(10, "the events are asked for", async || {
        b.text("main")
            .await
            .contains("Choose at least one event type")
    })
    .await;
    axe_check(&b, &axe, "integrations, a webhook refused", &mut found).await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM webhook_endpoints").await,
        0
    );

    b.field("session.ended").await.click().await.unwrap();
    b.click_button("Add webhook").await;
    b.saying("status", "Added", 10).await;
    let shown = b.named("region", "New webhook's secret", 5).await;
    let secret = b
        .field_in(Some(&shown), "Signing secret", 5)
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    b.click_button_in(&shown, "Copy the signing secret").await;
    b.saying("status", "Copied the signing secret.", 5).await;
    assert_eq!(b.clipboard().await, secret);
    b.screenshot("integrations-webhook-created").await;
    axe_check(&b, &axe, "integrations, a new webhook", &mut found).await;
    b.click_button("Done").await;

    // A session ends: the receiver gets it, the log shows it.
    let agent = app.login("agent1@demo.test").await;
    app.logout(&agent).await;
    eventually(10, "the receiver got the event", async || {
        receiver.got().len() == 1
    })
    .await;
    b.click_button("Deliveries").await;
    b.list_holds("Deliveries", 1, 10).await;
    let item = b
        .list_items("Deliveries")
        .await
        .remove(0)
        .text()
        .await
        .unwrap();
    assert!(
        item.contains("session.ended") && item.contains("delivered"),
        "{item}"
    );
    assert!(
        item.contains(&receiver.got()[0].id),
        "the webhook-id: {item}"
    );
    b.screenshot("integrations-webhook-deliveries").await;
    axe_check(&b, &axe, "integrations, deliveries", &mut found).await;
    b.click_button("Retry now").await;
    b.saying("status", "Retrying now", 10).await;
    eventually(10, "the retry arrived with the same id", async || {
        let got = receiver.got();
        got.len() == 2 && got[0].id == got[1].id
    })
    .await;

    // A day of failures disables it: the page says so beside "Enable",
    // which sends the delivery that was held, with its webhook-id.
    receiver.set(Mode::Fail(500));
    app.execute("UPDATE webhook_endpoints SET failing_since = 1")
        .await;
    let agent = app.login("agent1@demo.test").await;
    app.logout(&agent).await;
    eventually(10, "the endpoint is disabled", async || {
        app.scalar("SELECT COUNT(*) FROM webhook_endpoints WHERE enabled = FALSE")
            .await
            == 1
    })
    .await;
    let held = receiver.got()[2].id.clone();
    b.client.refresh().await.unwrap();
    b.saying("alert", "every attempt failed for 24 hours", 20)
        .await;
    let enable = format!("Enable {}", receiver.url);
    b.named("button", &enable, 5).await;
    b.screenshot("integrations-webhook-disabled").await;
    axe_check(&b, &axe, "integrations, a disabled webhook", &mut found).await;
    receiver.set(Mode::Ok);
    b.click_button(&enable).await;
    b.saying("status", "Enabled", 10).await;
    eventually(10, "the held delivery arrived", async || {
        let got = receiver.got();
        got.len() == 4 && got[3].id == held
    })
    .await;
    eventually(10, "the notice and the button are gone", async || {
        !b.text("main").await.contains("Disabled") && !b.has_named("button", &enable).await
    })
    .await;

    // Remove asks first; Cancel keeps it.
    let remove = format!("Remove {}", receiver.url);
    b.click_button(&remove).await;
    b.click_button("Cancel").await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM webhook_endpoints").await,
        1
    );
    b.click_button(&remove).await;
    axe_check(&b, &axe, "integrations, removing a webhook", &mut found).await;
    b.click_button("Remove webhook").await;
    b.saying("status", "Removed the webhook.", 10).await;
    eventually(10, "the page says there are no webhooks", async || {
        b.text("main").await.contains("No webhooks.")
    })
    .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM webhook_endpoints").await,
        0
    );
    assert!(found.is_empty(), "axe-core found:\n{}", found.join("\n"));
}
