//! `#[derive(Inputs)]` and `#[derive(Outputs)]`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Field, Fields};

use crate::attributes::crate_path;

fn named_fields(input: &DeriveInput, derive: &str) -> syn::Result<Vec<Field>> {
    match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => Ok(fields.named.iter().cloned().collect()),
            Fields::Unit => Ok(Vec::new()),
            Fields::Unnamed(fields) => Err(syn::Error::new_spanned(
                fields,
                format!(
                    "#[derive({derive})] needs named fields: the field names are the channel names"
                ),
            )),
        },
        _ => Err(syn::Error::new_spanned(
            &input.ident,
            format!("#[derive({derive})] works on structs of channels"),
        )),
    }
}

/// What both derives start from: the parsed struct, the crate path and its named fields.
struct ChannelStruct {
    input: DeriveInput,
    krate: syn::Path,
    fields: Vec<Field>,
}

impl ChannelStruct {
    fn parse(input: TokenStream, derive: &str) -> syn::Result<Self> {
        let input: DeriveInput = syn::parse2(input)?;
        let krate = crate_path(&input.attrs)?;
        let fields = named_fields(&input, derive)?;
        Ok(ChannelStruct {
            input,
            krate,
            fields,
        })
    }
}

/// A field's name as a string literal's content.
pub(crate) fn field_name(field: &Field) -> String {
    field
        .ident
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default()
}

pub(crate) fn derive_inputs(input: TokenStream) -> syn::Result<TokenStream> {
    let ChannelStruct {
        input,
        krate,
        fields,
    } = ChannelStruct::parse(input, "Inputs")?;
    let ident = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    let declarations = fields.iter().map(|field| {
        let name = field_name(field);
        let ty = &field.ty;
        quote! {
            #krate::InputDeclaration {
                name: #name,
                artifact_type: <<#ty as #krate::InputField>::Artifact as #krate::Artifact>::info(),
                optional: <#ty as #krate::InputField>::OPTIONAL,
            }
        }
    });
    let bindings = fields.iter().map(|field| {
        let ident = &field.ident;
        let name = field_name(field);
        quote!((#name, #krate::InputField::erased(&self.#ident)))
    });
    Ok(quote! {
        impl #impl_generics #krate::InputSet for #ident #type_generics #where_clause {
            fn declarations() -> ::std::vec::Vec<#krate::InputDeclaration> {
                ::std::vec![#(#declarations),*]
            }
            fn bindings(&self) -> ::std::vec::Vec<(&'static str, ::core::option::Option<#krate::ErasedChannel>)> {
                ::std::vec![#(#bindings),*]
            }
        }
    })
}

pub(crate) fn derive_outputs(input: TokenStream) -> syn::Result<TokenStream> {
    let ChannelStruct {
        input,
        krate,
        fields,
    } = ChannelStruct::parse(input, "Outputs")?;
    let ident = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    let declarations = fields.iter().map(|field| {
        let name = field_name(field);
        let ty = &field.ty;
        quote! {
            #krate::OutputDeclaration::of::<<#ty as #krate::OutputField>::Artifact>(#name)
        }
    });
    let binds = fields.iter().map(|field| {
        let ident = &field.ident;
        let name = field_name(field);
        quote!(#ident: node.channel(#name))
    });
    Ok(quote! {
        impl #impl_generics #krate::OutputSet for #ident #type_generics #where_clause {
            fn declarations() -> ::std::vec::Vec<#krate::OutputDeclaration> {
                ::std::vec![#(#declarations),*]
            }
            fn bind(node: #krate::NodeHandle) -> Self {
                let _ = &node;
                #ident { #(#binds),* }
            }
        }
    })
}
