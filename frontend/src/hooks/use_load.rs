//! `use_load`: what a page shows from one request: nothing until the first
//! answer (loading), then the answer, kept through a reload that fails; and
//! the page's status line, which says why a load failed (a 401 signs the
//! browser out, as [`crate::api::failed`] does) or what the page said since.
//!
//! The work is done once, not once per answer type: the answer travels as
//! `Rc<dyn Any>` and only the last step, the downcast, is generic.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use yew::prelude::*;

use crate::api::failed;
use crate::components::use_current_session;
use crate::error::ApiError;

/// What [`use_load`] returns.
pub struct Loaded<T> {
    /// The last answer; `None` until the first arrives.
    pub data: Option<Rc<T>>,
    /// The status line: why the last load failed, or what the page said
    /// since.
    pub status: Option<String>,
    /// Reloads, and sets the status line.
    pub handle: LoadHandle,
}

/// Reloads, and sets the status line (for callbacks: cheap to clone).
#[derive(Clone)]
pub struct LoadHandle(UseReducerDispatcher<Load>);

impl LoadHandle {
    /// Asks again.
    pub fn reload(&self) {
        self.0.dispatch(Change::Reload);
    }

    /// Puts `message` on the status line.
    pub fn say(&self, message: String) {
        self.0.dispatch(Change::Status(message));
    }
}

/// What a page knows from its request.
#[derive(Default)]
pub struct Load {
    data: Option<Rc<dyn Any>>,
    status: Option<String>,
    /// Bumped to ask again.
    asked: u32,
}

/// A change of a [`Load`].
pub enum Change {
    Data(Rc<dyn Any>),
    Status(String),
    Reload,
}

impl Reducible for Load {
    type Action = Change;

    fn reduce(self: Rc<Self>, change: Change) -> Rc<Self> {
        let mut next = Load {
            data: self.data.clone(),
            status: self.status.clone(),
            asked: self.asked,
        };
        match change {
            Change::Data(data) => next.data = Some(data),
            Change::Status(message) => next.status = Some(message),
            Change::Reload => next.asked = next.asked.wrapping_add(1),
        }
        Rc::new(next)
    }
}

type Answer = Pin<Box<dyn Future<Output = Result<Rc<dyn Any>, ApiError>>>>;

/// The work of [`use_load`], for any answer.
#[hook]
fn use_load_any(
    fetch: Rc<dyn Fn() -> Answer>,
) -> (Option<Rc<dyn Any>>, Option<String>, LoadHandle) {
    let session = use_current_session();
    let load = use_reducer(Load::default);
    {
        let dispatch = load.dispatcher();
        use_effect_with(load.asked, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match fetch().await {
                    Ok(data) => dispatch.dispatch(Change::Data(data)),
                    Err(e) => dispatch.dispatch(Change::Status(failed(session.as_ref(), &e))),
                }
            });
        });
    }
    let handle = LoadHandle(load.dispatcher());
    (load.data.clone(), load.status.clone(), handle)
}

/// Loads with `fetch` when the page mounts, and again on each
/// [`LoadHandle::reload`].
#[hook]
pub fn use_load<T, F>(fetch: fn() -> F) -> Loaded<T>
where
    T: 'static,
    F: Future<Output = Result<T, ApiError>> + 'static,
{
    let any: Rc<dyn Fn() -> Answer> =
        Rc::new(move || Box::pin(async move { fetch().await.map(|t| Rc::new(t) as Rc<dyn Any>) }));
    let (data, status, handle) = use_load_any(any);
    Loaded {
        data: data.and_then(|d| d.downcast().ok()),
        status,
        handle,
    }
}
