//! The security page's policy additions (issue 18): remembered limits, a
//! stricter admins' policy, a session limit and the call limit, set
//! through the page and stored as set; an admins' policy looser than the
//! agents' is refused on the field and saves nothing.

use fantoccini::elements::Element;
use fantoccini::Locator;
use serde_json::{json, Value};

use super::fixture::{axe_check, axe_script, eventually, press, Browser, Console};

/// How many timelines in `within` are named starting with `name`.
async fn timelines(within: &Element, name: &str) -> usize {
    within
        .find_all(Locator::Css(&format!("svg[aria-label^='{name}']")))
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn an_admin_sets_remembered_limits_a_stricter_admins_policy_a_session_limit_and_the_call_limit(
) {
    let app = Console::start().await;
    let b = Browser::signed_in(&app, "/login", "admin@demo.test").await;
    let agents = b.region("Agents").await;
    b.field_in(Some(&agents), "Idle timeout", 20).await;

    // Remembered agents: 7 days idle, 90 days in all.
    let own = b.field_in(Some(&agents), "Limits of their own", 5).await;
    assert_eq!(
        b.description(&own).await,
        "Off: the same limits as other sessions. They apply while Remember me is offered.",
        "the hint is the checkbox's description"
    );
    own.click().await.unwrap();
    b.choose(
        Some(&agents),
        "Idle timeout of remembered sessions unit",
        "days",
    )
    .await;
    b.type_into_in(Some(&agents), "Idle timeout of remembered sessions", "7")
        .await;
    b.type_into_in(Some(&agents), "Lifetime of remembered sessions", "90")
        .await;
    eventually(5, "the remembered sessions' timeline", async || {
        timelines(
            &agents,
            "Remembered sessions: warned after 6 days 23 hours 59 minutes idle",
        )
        .await
            == 1
    })
    .await;

    // At most 2 sessions per agent, and the third sign-in is refused
    // (chosen with the arrow keys, as a keyboard user would).
    b.field_in(
        Some(&agents),
        "Limit how many live sessions a person may hold",
        10,
    )
    .await
    .click()
    .await
    .unwrap();
    b.type_into_in(
        Some(&agents),
        "Most live sessions per person (1 to 100)",
        "2",
    )
    .await;
    let end_oldest = b
        .field_in(
            Some(&agents),
            "A sign-in beyond it ends the person's oldest session",
            5,
        )
        .await;
    assert_eq!(
        end_oldest.prop("checked").await.unwrap().as_deref(),
        Some("true"),
        "ending the oldest is the default"
    );
    b.client
        .execute(
            "arguments[0].focus()",
            vec![serde_json::to_value(&end_oldest).unwrap()],
        )
        .await
        .unwrap();
    press(&b, '\u{E015}').await; // ArrowDown
    let refuse = b
        .field_in(Some(&agents), "A sign-in beyond it is refused", 5)
        .await;
    eventually(5, "refusing is chosen", async || {
        refuse.prop("checked").await.unwrap().as_deref() == Some("true")
    })
    .await;

    // Calls keep an idle session at most 2 hours.
    let activity = b.region("Activity rules").await;
    b.type_into_in(
        Some(&activity),
        "A call keeps a session alive at most this long after the last input",
        "2",
    )
    .await;

    // Admins: an hour idle, a day in all; the rest as the agents'.
    let admins = b.region("Admins").await;
    let stricter = b
        .field_in(Some(&admins), "A stricter policy for admins", 5)
        .await;
    assert!(
        b.description(&stricter)
            .await
            .contains("each limit may only be as strict as the agents' or stricter"),
        "{}",
        b.description(&stricter).await
    );
    stricter.click().await.unwrap();
    b.type_into_in(Some(&admins), "Custom idle timeout", "1")
        .await;
    b.type_into_in(
        Some(&admins),
        "Session lifetime (sign out after this, whatever the activity)",
        "1",
    )
    .await;
    // Each policy that applies is judged: the admins' earns AAL2, the
    // agents' and the remembered sessions' nothing.
    eventually(5, "the admins' policy earns its badge", async || {
        admins
            .text()
            .await
            .unwrap()
            .contains("Meets NIST 800-63B AAL2")
    })
    .await;
    assert!(!agents.text().await.unwrap().contains("Meets NIST"));
    assert_eq!(timelines(&admins, "Admins: ").await, 1);
    assert_eq!(timelines(&admins, "Remembered sessions: ").await, 1);

    let axe = axe_script();
    let mut found = Vec::new();
    axe_check(
        &b,
        &axe,
        "security, every policy addition shown",
        &mut found,
    )
    .await;
    b.screenshot("security-additions").await;

    let save = b.named("button", "Save", 5).await;
    eventually(5, "Save is enabled", async || {
        save.is_enabled().await.unwrap()
    })
    .await;
    save.click().await.unwrap();
    b.saying("status", "Saved", 10).await;

    let api = app.login("admin@demo.test").await;
    let stored: Value = app.get_json("/api/admin/security-settings", &api).await;
    let s = &stored["settings"];
    assert_eq!(
        s["agents"]["remembered"],
        json!({"idle_timeout_secs": 604800, "absolute_timeout_secs": 7776000})
    );
    assert_eq!(s["agents"]["max_sessions"], 2);
    assert_eq!(s["agents"]["on_session_limit"], "refuse");
    assert_eq!(s["activity"]["call_max_secs"], 7200);
    assert_eq!(s["admins"]["idle_timeout_secs"], 3600);
    assert_eq!(s["admins"]["absolute_timeout_secs"], 86400);
    assert_eq!(
        s["admins"]["remembered"], s["agents"]["remembered"],
        "the admins' policy starts as the agents'"
    );
    assert_eq!(s["admins"]["max_sessions"], 2);
    assert_eq!(s["requesters"]["max_sessions"], Value::Null);
    let version = stored["version"].clone();

    // An admins' idle timeout longer than the agents' is refused on the
    // field, by the same validate the server runs, and nothing is saved.
    let admins = b.region("Admins").await;
    let idle = b
        .type_into_in(Some(&admins), "Custom idle timeout", "9")
        .await;
    eventually(5, "the field is marked invalid", async || {
        idle.attr("aria-invalid").await.unwrap().as_deref() == Some("true")
    })
    .await;
    assert_eq!(
        b.description(&idle).await,
        "The admins' idle timeout can be at most the agents' (8 hours)."
    );
    assert!(b.text("main").await.contains("Fix 1 field to save."));
    let save = b.named("button", "Save", 5).await;
    assert!(!save.is_enabled().await.unwrap(), "Save stays disabled");
    axe_check(&b, &axe, "security, an admins' limit refused", &mut found).await;
    assert!(found.is_empty(), "axe-core found:\n{}", found.join("\n"));
    // Every addition shown still fits a phone.
    b.client.set_window_size(390, 844).await.unwrap();
    b.assert_fits_the_width("the security page").await;
    let after: Value = app.get_json("/api/admin/security-settings", &api).await;
    assert_eq!(after["version"], version, "nothing saved");
    assert_eq!(after["settings"]["admins"]["idle_timeout_secs"], 3600);
}
