//! The session pages in the browser, a page at a time: the console asks
//! for the server's default page (200) and "Load more" follows the `Link`,
//! filters kept. Enough sessions are started (through `sessions::start`, as
//! in `paging.rs`) that the lists take two pages at the console's own page
//! size; what this proves is that the console reads the `Link` and appends
//! the next page with the filter it was asked for, not which page size is
//! best.

use super::fixture::{Browser, Console};
use crate::paging::sign_ins;

/// How often `email` appears in the list named `list`.
async fn mentions(b: &Browser, list: &str, email: &str) -> usize {
    b.named("list", list, 10)
        .await
        .text()
        .await
        .unwrap()
        .matches(email)
        .count()
}

#[tokio::test]
async fn session_pages_load_more_with_the_filter_kept() {
    let app = Console::start().await;
    // 230 of the requester's, more than one page of 200.
    sign_ins(&app, "requester@demo.test", 230, 1000).await;
    let _agent = app.login("agent1@demo.test").await;

    let b = Browser::admin_at(&app, "/admin/sessions").await;
    b.list_holds("Live sessions", 200, 20).await;
    b.type_into("Person (email)", "requester@demo.test\n").await;
    // The filtered list: the first page, then the rest after "Load more".
    super::fixture::eventually(10, "the filtered first page", async || {
        mentions(&b, "Live sessions", "requester@demo.test").await == 200
            && b.list_items("Live sessions").await.len() == 200
    })
    .await;
    b.click_button("Load more").await;
    b.list_holds("Live sessions", 230, 20).await;
    assert_eq!(
        mentions(&b, "Live sessions", "requester@demo.test").await,
        230,
        "the second page kept the filter"
    );
    assert!(!b.has_named("button", "Load more").await, "nothing more");
    b.screenshot("sessions-paged").await;
    // Unfiltered: everyone's, the admin's and the agent's too.
    b.type_into("Person (email)", "\n").await;
    b.list_holds("Live sessions", 200, 20).await;
    b.click_button("Load more").await;
    b.list_holds("Live sessions", 232, 20).await;
    assert!(!b.has_named("button", "Load more").await);
    drop(b);

    // The requester's own page: 230 and this browser's.
    let r = Browser::signed_in(&app, "/portal/login", "requester@demo.test").await;
    r.goto(&app, "/me/sessions").await;
    r.list_holds("Your sessions", 200, 20).await;
    r.click_button("Load more").await;
    r.list_holds("Your sessions", 231, 20).await;
    assert!(!r.has_named("button", "Load more").await);
}
