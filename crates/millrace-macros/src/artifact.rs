//! `#[derive(Artifact)]`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, Ident, LitStr};

use crate::attributes::crate_path;

pub(crate) fn derive(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let krate = crate_path(&input.attrs)?;
    let ident = &input.ident;
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "artifact types cannot be generic",
        ));
    }
    let mut type_name = LitStr::new(&ident.to_string(), ident.span());
    let mut base = quote!(::core::option::Option::None);
    for attribute in input.attrs.iter().filter(|a| a.path().is_ident("artifact")) {
        attribute.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                type_name = meta.value()?.parse()?;
                Ok(())
            } else if meta.path.is_ident("base") {
                let base_ident: Ident = meta.value()?.parse()?;
                let known = ["Dataset", "Model", "Metrics", "Statistics"];
                if !known.contains(&base_ident.to_string().as_str()) {
                    return Err(syn::Error::new_spanned(
                        &base_ident,
                        "base must be one of Dataset, Model, Metrics, Statistics",
                    ));
                }
                base = quote!(::core::option::Option::Some(#krate::BaseType::#base_ident));
                Ok(())
            } else {
                Err(meta.error(
                    "expected `name = \"...\"` or `base = Dataset|Model|Metrics|Statistics`",
                ))
            }
        })?;
    }
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            ident,
            "#[derive(Artifact)] works on structs; their fields are the artifact's properties",
        ));
    };
    let properties = match &data.fields {
        Fields::Named(fields) => fields
            .named
            .iter()
            .map(|field| {
                let name = crate::channels::field_name(field);
                let ty = &field.ty;
                quote! {
                    #krate::PropertySpec {
                        name: #name,
                        property_type: <#ty as #krate::PropertyValue>::PROPERTY_TYPE,
                    }
                }
            })
            .collect::<Vec<_>>(),
        Fields::Unit => Vec::new(),
        Fields::Unnamed(fields) => {
            return Err(syn::Error::new_spanned(
                fields,
                "artifact properties need names: use a struct with named fields or a unit struct",
            ));
        }
    };
    Ok(quote! {
        impl #krate::Artifact for #ident {
            const TYPE_NAME: &'static str = #type_name;
            const BASE_TYPE: ::core::option::Option<#krate::BaseType> = #base;
            const PROPERTIES: &'static [#krate::PropertySpec] = &[#(#properties),*];
        }

        #krate::__private::inventory::submit! {
            #krate::ArtifactTypeInfo::of::<#ident>()
        }
    })
}
