//! Reading a channel map: a plain dict (fast path) or any mapping with
//! `items()` and `get()`.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// A snapshot of the map's `(fd, channel)` pairs, in map order.
pub(crate) fn snapshot<'py>(
    map: &Bound<'py, PyAny>,
) -> PyResult<Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
    let py = map.py();
    let items: Bound<'py, PyList> = match map.downcast::<PyDict>() {
        Ok(d) => d.items(),
        Err(_) => PyList::new_bound(
            py,
            map.call_method0(intern!(py, "items"))?
                .iter()?
                .collect::<PyResult<Vec<_>>>()?,
        ),
    };
    let mut out = Vec::with_capacity(items.len());
    for pair in items.iter() {
        let (fd, obj): (Bound<'py, PyAny>, Bound<'py, PyAny>) = pair.extract()?;
        out.push((fd, obj));
    }
    Ok(out)
}

/// `map.get(key)`: the channel now under `key`, if any.
pub(crate) fn get<'py>(
    map: &Bound<'py, PyAny>,
    key: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    match map.downcast::<PyDict>() {
        Ok(d) => d.get_item(key),
        Err(_) => {
            let v = map.call_method1(intern!(map.py(), "get"), (key,))?;
            Ok(if v.is_none() { None } else { Some(v) })
        }
    }
}

/// `len(map)`.
pub(crate) fn len(map: &Bound<'_, PyAny>) -> PyResult<usize> {
    match map.downcast::<PyDict>() {
        Ok(d) => Ok(d.len()),
        Err(_) => map.len(),
    }
}

/// The descriptor number of a map key.
pub(crate) fn fd_of(key: &Bound<'_, PyAny>) -> PyResult<i32> {
    key.extract::<i32>()
}
