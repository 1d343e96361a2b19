//! The read endpoints' answers, kept per store generation, so that what a read costs does
//! not grow with the registry: a `GET /api/v1/projects` on a registry of 1,000 projects is
//! one generation check and a copy of bytes serialized once, not a query returning every
//! row, a decode and a serialization per request.
//!
//! Each list (projects, hosts, services, bindings, reservations) is read from the store
//! once per [generation](portolan_store::Store::generation) and kept with its JSON (exactly
//! what `axum::Json` would write) and an index by name; the spec's text and its resolved
//! model likewise. The generation is read before the list, so a cached list is never older
//! than the generation it is filed under: a writer in another process or server is seen by
//! the next request after its commit. One request fills a stale entry while the others of
//! that moment wait for it instead of all querying.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use portolan_model::Model;
use portolan_store::{
    BindingInfo, HostInfo, ProjectInfo, Reservation, ServiceInfo, Store, StoreError,
};
use serde::Serialize;
use tokio::sync::Mutex;

/// A list as the store returned it at one generation, with its JSON.
#[derive(Debug)]
pub struct Cached<T> {
    /// The generation it was read at (or later).
    pub generation: i64,
    /// The records, in the store's order.
    pub items: Vec<T>,
    /// `items` as JSON.
    json: Bytes,
    /// Position of each record by its key (name; for bindings, the range of a service's).
    index: HashMap<String, Range<usize>>,
}

impl<T: Serialize> Cached<T> {
    fn new(generation: i64, items: Vec<T>, key: impl Fn(&T) -> &str) -> Result<Self, StoreError> {
        let json = serde_json::to_vec(&items)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode a list: {e}")))?
            .into();
        let mut index: HashMap<String, Range<usize>> = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            index
                .entry(key(item).to_string())
                .and_modify(|r| r.end = i + 1)
                .or_insert(i..i + 1);
        }
        Ok(Cached {
            generation,
            items,
            json,
            index,
        })
    }

    /// The whole list as an `application/json` answer.
    pub fn response(&self) -> Response {
        json_response(self.json.clone())
    }

    /// The records filed under `key` (contiguous in the store's order).
    pub fn get(&self, key: &str) -> &[T] {
        self.index
            .get(key)
            .and_then(|r| self.items.get(r.clone()))
            .unwrap_or_default()
    }
}

/// An `application/json` answer of already serialized bytes (what `axum::Json` sends).
pub fn json_response(json: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json,
    )
        .into_response()
}

/// One cached list: the last one read, refilled when the generation moved on.
#[derive(Debug)]
struct Slot<T>(Mutex<Option<Arc<Cached<T>>>>);

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot(Mutex::new(None))
    }
}

impl<T: Serialize> Slot<T> {
    async fn get<F, Fut>(
        &self,
        generation: i64,
        read: F,
        key: fn(&T) -> &str,
    ) -> Result<Arc<Cached<T>>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<T>, StoreError>>,
    {
        let mut slot = self.0.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| c.generation >= generation) {
            return Ok(c.clone());
        }
        let fresh = Arc::new(Cached::new(generation, read().await?, key)?);
        *slot = Some(fresh.clone());
        Ok(fresh)
    }
}

/// The spec's text and model at one generation.
#[derive(Debug)]
struct SpecAt {
    generation: i64,
    text: Bytes,
    model: Option<Arc<Model>>,
}

/// The server's read cache (one per [`AppState`](crate::AppState)).
#[derive(Debug, Default)]
pub struct Reads {
    projects: Slot<ProjectInfo>,
    hosts: Slot<HostInfo>,
    services: Slot<ServiceInfo>,
    bindings: Slot<BindingInfo>,
    reservations: Slot<Reservation>,
    spec: Mutex<Option<SpecAt>>,
}

impl Reads {
    /// Projects, by name (keyed by name).
    pub async fn projects(
        &self,
        store: &dyn Store,
    ) -> Result<Arc<Cached<ProjectInfo>>, StoreError> {
        let g = store.generation().await?;
        self.projects
            .get(g, || store.projects(), |p| p.name.as_str())
            .await
    }

    /// Hosts, by name (keyed by name).
    pub async fn hosts(&self, store: &dyn Store) -> Result<Arc<Cached<HostInfo>>, StoreError> {
        let g = store.generation().await?;
        self.hosts
            .get(g, || store.hosts(), |h| h.name.as_str())
            .await
    }

    /// Services, by name (keyed by name).
    pub async fn services(
        &self,
        store: &dyn Store,
    ) -> Result<Arc<Cached<ServiceInfo>>, StoreError> {
        let g = store.generation().await?;
        self.services
            .get(g, || store.services(), |s| s.name.as_str())
            .await
    }

    /// Binding instances, by service, binding and host (keyed by service).
    pub async fn bindings(
        &self,
        store: &dyn Store,
    ) -> Result<Arc<Cached<BindingInfo>>, StoreError> {
        let g = store.generation().await?;
        self.bindings
            .get(g, || store.bindings(), |b| b.service.as_str())
            .await
    }

    /// Reservations, in the order they were made (keyed by ports).
    pub async fn reservations(
        &self,
        store: &dyn Store,
    ) -> Result<Arc<Cached<Reservation>>, StoreError> {
        let g = store.generation().await?;
        self.reservations
            .get(g, || store.reservations(), |r| r.ports.as_str())
            .await
    }

    /// The registry as `ports.toml` text.
    pub async fn spec_text(&self, store: &dyn Store) -> Result<Bytes, StoreError> {
        let g = store.generation().await?;
        let mut spec = self.spec.lock().await;
        if let Some(s) = spec.as_ref().filter(|s| s.generation >= g) {
            return Ok(s.text.clone());
        }
        let text = Bytes::from(store.export_spec().await?);
        *spec = Some(SpecAt {
            generation: g,
            text: text.clone(),
            model: None,
        });
        Ok(text)
    }

    /// The registry's resolved model (what drift is computed against).
    pub async fn model(&self, store: &dyn Store) -> Result<Arc<Model>, StoreError> {
        let g = store.generation().await?;
        let mut spec = self.spec.lock().await;
        if let Some(s) = spec.as_ref().filter(|s| s.generation >= g)
            && let Some(m) = &s.model
        {
            return Ok(m.clone());
        }
        let text = match spec.as_ref().filter(|s| s.generation >= g) {
            Some(s) => s.text.clone(),
            None => Bytes::from(store.export_spec().await?),
        };
        let model = Arc::new(
            portolan_model::load_str("ports.toml", &String::from_utf8_lossy(&text))
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        );
        *spec = Some(SpecAt {
            generation: g,
            text,
            model: Some(model.clone()),
        });
        Ok(model)
    }
}
