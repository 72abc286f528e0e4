//! Query strings and path ids: strict parsing, 400 naming the parameter.

use std::collections::HashMap;

use idv_core::domain::{PageRequest, Status};

use super::error::ApiError;

/// The parameters of a query string. A parameter given twice is refused.
pub struct Query {
    params: HashMap<String, String>,
}

impl Query {
    pub fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut params = HashMap::new();
        for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            if params.insert(key.to_string(), value.to_string()).is_some() {
                return Err(ApiError::bad_parameter(
                    key.into_owned(),
                    "this parameter is given more than once",
                ));
            }
        }
        Ok(Self { params })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// `page` ≥ 1 (default 1) and `per_page` in 1..=100 (default 10).
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        let page = self.bounded("page", 1, PageRequest::MAX_PAGE)?.unwrap_or(1);
        let per_page = self
            .bounded("per_page", 1, PageRequest::MAX_PER_PAGE)?
            .unwrap_or(PageRequest::DEFAULT_PER_PAGE);
        Ok(PageRequest { page, per_page })
    }

    fn bounded(&self, name: &'static str, min: u32, max: u32) -> Result<Option<u32>, ApiError> {
        let Some(text) = self.get(name) else {
            return Ok(None);
        };
        let out_of_range = || {
            ApiError::bad_parameter(
                name,
                format!("{name} must be an integer from {min} to {max}"),
            )
        };
        let value: i128 = text.trim().parse().map_err(|_| out_of_range())?;
        if value < i128::from(min) || value > i128::from(max) {
            return Err(out_of_range());
        }
        Ok(Some(value as u32))
    }

    /// The optional `status` filter.
    pub fn status(&self) -> Result<Option<Status>, ApiError> {
        self.get("status")
            .map(|text| {
                Status::parse(text).ok_or_else(|| {
                    ApiError::bad_parameter(
                        "status",
                        "status must be one of pending, processing, approved, rejected, review",
                    )
                })
            })
            .transpose()
    }
}

/// A resource id from the path: a positive 64-bit integer.
pub fn parse_id(segment: &str, name: &'static str) -> Result<i64, ApiError> {
    match segment.parse::<i64>() {
        Ok(id) if id > 0 && segment.bytes().all(|b| b.is_ascii_digit()) => Ok(id),
        _ => Err(ApiError::bad_parameter(
            name,
            format!("{name} must be a positive integer"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(query: &str) -> Result<PageRequest, ApiError> {
        Query::parse(Some(query))?.page()
    }

    #[test]
    fn pages_default_and_accept_the_documented_range() {
        assert_eq!(
            page("").unwrap(),
            PageRequest {
                page: 1,
                per_page: 10
            }
        );
        assert_eq!(
            page("page=3&per_page=100").unwrap(),
            PageRequest {
                page: 3,
                per_page: 100
            }
        );
    }

    #[test]
    fn refuses_pages_out_of_range_or_not_numbers() {
        for bad in [
            "per_page=0",
            "per_page=-5",
            "per_page=abc",
            "per_page=101",
            "per_page=2147483648",
            "page=0",
            "page=-1",
            "page=99999999999",
            "page=1&page=2",
            "per_page=1e3",
        ] {
            let e = page(bad).unwrap_err();
            assert_eq!(e.status, hyper::StatusCode::BAD_REQUEST, "{bad}");
            assert!(e.field.is_some());
        }
    }

    #[test]
    fn ids_are_positive_integers() {
        assert_eq!(parse_id("42", "id").unwrap(), 42);
        for bad in ["0", "-1", "+1", "1.0", "abc", "99999999999999999999", ""] {
            assert!(parse_id(bad, "id").is_err(), "{bad}");
        }
    }
}
