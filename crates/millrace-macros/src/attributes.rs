//! Shared attribute parsing: `#[millrace(crate = path)]`.

use syn::{Attribute, Path};

/// The path of the crate generated code refers to: `::millrace` unless overridden.
pub(crate) fn crate_path(attributes: &[Attribute]) -> syn::Result<Path> {
    let mut path: Path = syn::parse_quote!(::millrace);
    for attribute in attributes {
        if !attribute.path().is_ident("millrace") {
            continue;
        }
        attribute.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                path = meta.value()?.parse()?;
                Ok(())
            } else {
                Err(meta.error("expected `crate = path`"))
            }
        })?;
    }
    Ok(path)
}
