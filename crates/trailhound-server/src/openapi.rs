//! The OpenAPI 3.1 document of the API, written by hand beside the routes it describes; a
//! test holds the two together.

use axum::http::header;
use axum::response::IntoResponse;

/// The document.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// `GET /api/v1/openapi.json`.
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_and_nothing_else() -> Result<(), Box<dyn std::error::Error>> {
        let document: serde_json::Value = serde_json::from_str(DOCUMENT)?;
        let paths = document["paths"].as_object().ok_or("no paths")?;
        for (method, route) in crate::api::ROUTES {
            let path = format!("/api/v1{route}");
            assert!(
                paths.get(&path).and_then(|p| p.get(method)).is_some(),
                "{method} {path} is not in openapi.json"
            );
        }
        let documented = paths
            .iter()
            .filter(|(path, _)| path.starts_with("/api/v1/") && *path != "/api/v1/openapi.json")
            .map(|(_, ops)| ops.as_object().map_or(0, |o| o.len()))
            .sum::<usize>();
        assert_eq!(
            documented,
            crate::api::ROUTES.len(),
            "openapi.json lists a route the server lacks"
        );
        Ok(())
    }
}
