//! `#[component]` on an `async fn`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{
    FnArg, GenericArgument, Ident, ItemFn, LitInt, LitStr, Pat, Path, PathArguments, Type,
    meta::ParseNestedMeta,
};

/// What one argument of the function is.
enum Role {
    Input { artifact: Type, optional: bool },
    Output { artifact: Type },
    Context,
    Parameter { ty: Type },
}

struct Argument {
    ident: Ident,
    role: Role,
}

struct Options {
    krate: Path,
    kind: Option<LitStr>,
    name: Option<Ident>,
    version: Option<LitInt>,
}

impl Options {
    fn parse(&mut self, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
        if meta.path.is_ident("crate") {
            self.krate = meta.value()?.parse()?;
        } else if meta.path.is_ident("kind") {
            self.kind = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("name") {
            self.name = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("version") {
            self.version = Some(meta.value()?.parse()?);
        } else {
            return Err(meta.error(
                "expected `kind = \"...\"`, `name = StructName`, `version = N` or `crate = path`",
            ));
        }
        Ok(())
    }
}

/// The single generic argument of `Wrapper<T>` if `ty` is one (by last path segment).
fn unwrap_generic<'a>(ty: &'a Type, wrapper: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else { return None };
    let segment = path.path.segments.last()?;
    if segment.ident != wrapper {
        return None;
    }
    let PathArguments::AngleBracketed(arguments) = &segment.arguments else {
        return None;
    };
    match arguments.args.first() {
        Some(GenericArgument::Type(inner)) if arguments.args.len() == 1 => Some(inner),
        _ => None,
    }
}

fn is_context(ty: &Type) -> bool {
    let Type::Reference(reference) = ty else {
        return false;
    };
    let Type::Path(path) = &*reference.elem else {
        return false;
    };
    path.path
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "ExecutionContext")
}

fn classify(argument: &FnArg) -> syn::Result<Argument> {
    let FnArg::Typed(typed) = argument else {
        return Err(syn::Error::new_spanned(
            argument,
            "a function component cannot take `self`",
        ));
    };
    let Pat::Ident(pattern) = &*typed.pat else {
        return Err(syn::Error::new_spanned(
            &typed.pat,
            "function component arguments must be plain names: they name inputs, outputs and parameters",
        ));
    };
    let ty = &*typed.ty;
    let role = if let Some(artifact) = unwrap_generic(ty, "Input") {
        Role::Input {
            artifact: artifact.clone(),
            optional: false,
        }
    } else if let Some(artifact) =
        unwrap_generic(ty, "Option").and_then(|inner| unwrap_generic(inner, "Input"))
    {
        Role::Input {
            artifact: artifact.clone(),
            optional: true,
        }
    } else if let Some(artifact) = unwrap_generic(ty, "Output") {
        Role::Output {
            artifact: artifact.clone(),
        }
    } else if is_context(ty) {
        Role::Context
    } else {
        Role::Parameter { ty: ty.clone() }
    };
    Ok(Argument {
        ident: pattern.ident.clone(),
        role,
    })
}

fn camel_case(snake: &str) -> String {
    snake
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

pub(crate) fn expand(attributes: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let function: ItemFn = syn::parse2(item)?;
    let mut options = Options {
        krate: syn::parse_quote!(::millrace),
        kind: None,
        name: None,
        version: None,
    };
    let parser = syn::meta::parser(|meta| options.parse(&meta));
    syn::parse::Parser::parse2(parser, attributes)?;

    let signature = &function.sig;
    if signature.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            signature.fn_token,
            "#[component] needs an `async fn`",
        ));
    }
    if !signature.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &signature.generics,
            "a function component cannot be generic: its inputs and outputs must have fixed types",
        ));
    }
    let arguments = signature
        .inputs
        .iter()
        .map(classify)
        .collect::<syn::Result<Vec<_>>>()?;
    let contexts = arguments
        .iter()
        .filter(|argument| matches!(argument.role, Role::Context))
        .count();
    if contexts > 1 {
        return Err(syn::Error::new_spanned(
            &signature.inputs,
            "a function component takes at most one `&mut ExecutionContext`",
        ));
    }

    let krate = &options.krate;
    let function_ident = &signature.ident;
    let visibility = &function.vis;
    let struct_ident = options.name.clone().unwrap_or_else(|| {
        Ident::new(
            &camel_case(&function_ident.to_string()),
            function_ident.span(),
        )
    });
    let inputs_ident = format_ident!("{}Inputs", struct_ident);
    let outputs_ident = format_ident!("{}Outputs", struct_ident);
    let kind = match &options.kind {
        Some(kind) => quote!(#kind),
        None => {
            let suffix = LitStr::new(&format!(".{function_ident}"), Span::call_site());
            quote!(::core::concat!(::core::env!("CARGO_CRATE_NAME"), #suffix))
        }
    };
    let version = match &options.version {
        Some(version) => quote!(#version),
        None => quote!(1),
    };
    let docs: Vec<_> = function
        .attrs
        .iter()
        .filter(|attribute| attribute.path().is_ident("doc"))
        .collect();
    let serde_path = LitStr::new(
        &format!(
            "{}::__private::serde",
            quote!(#krate).to_string().replace(' ', "")
        ),
        Span::call_site(),
    );

    let mut parameter_fields = Vec::new();
    let mut input_fields = Vec::new();
    let mut output_fields = Vec::new();
    let mut constructor_arguments = Vec::new();
    let mut input_inits = Vec::new();
    let mut parameter_inits = Vec::new();
    let mut prepare = Vec::new();
    let mut call_arguments = Vec::new();
    let mut input_declarations = Vec::new();
    let mut input_bindings = Vec::new();
    let mut output_declarations = Vec::new();
    let mut output_binds = Vec::new();
    for argument in &arguments {
        let ident = &argument.ident;
        let name = ident.to_string();
        // The executor binds each argument to a local that cannot shadow the function itself
        // (an input may share the function's name).
        let local = format_ident!("__millrace_{}", ident);
        match &argument.role {
            Role::Input { artifact, optional } => {
                let field_type = if *optional {
                    quote!(::core::option::Option<#krate::Channel<#artifact>>)
                } else {
                    quote!(#krate::Channel<#artifact>)
                };
                input_fields.push(quote!(pub #ident: #field_type));
                constructor_arguments.push(quote!(#ident: #field_type));
                input_inits.push(quote!(#ident));
                input_declarations.push(quote! {
                    #krate::InputDeclaration {
                        name: #name,
                        artifact_type: <#artifact as #krate::Artifact>::info(),
                        optional: #optional,
                    }
                });
                input_bindings.push(quote!((#name, #krate::InputField::erased(&self.#ident))));
                prepare.push(if *optional {
                    quote!(let #local = context.optional_input::<#artifact>(#name)?;)
                } else {
                    quote!(let #local = context.input::<#artifact>(#name)?;)
                });
                call_arguments.push(quote!(#local));
            }
            Role::Output { artifact } => {
                output_fields.push(quote!(pub #ident: #krate::Channel<#artifact>));
                output_declarations.push(quote!(#krate::OutputDeclaration::of::<#artifact>(#name)));
                output_binds.push(quote!(#ident: node.channel(#name)));
                prepare.push(quote!(let #local = context.output::<#artifact>(#name)?;));
                call_arguments.push(quote!(#local));
            }
            Role::Context => call_arguments.push(quote!(context)),
            Role::Parameter { ty } => {
                parameter_fields.push(quote!(pub #ident: #krate::Param<#ty>));
                constructor_arguments
                    .push(quote!(#ident: impl ::core::convert::Into<#krate::Param<#ty>>));
                parameter_inits.push(quote!(#ident: #ident.into()));
                prepare.push(
                    quote!(let #ident: #ty = ::core::clone::Clone::clone(self.#ident.value()?);),
                );
                call_arguments.push(quote!(#ident));
            }
        }
    }

    let struct_doc = format!(
        "The component made from [`{function_ident}`] by `#[component]`; add it with `{struct_ident}::new(...)`."
    );
    let inputs_doc = format!("The input channels of [`{struct_ident}`].");
    let outputs_doc = format!("The output channels of [`{struct_ident}`].");
    let new_doc =
        format!("Wires a `{struct_ident}` node: its input channels, then its parameters.");

    Ok(quote! {
        #function

        #(#docs)*
        #[doc = ""]
        #[doc = #struct_doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, #krate::__private::serde::Serialize, #krate::__private::serde::Deserialize)]
        #[serde(crate = #serde_path, deny_unknown_fields)]
        #visibility struct #struct_ident {
            #(#parameter_fields,)*
        }

        #[doc = #inputs_doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy)]
        #visibility struct #inputs_ident {
            #(#input_fields,)*
        }

        impl #krate::InputSet for #inputs_ident {
            fn declarations() -> ::std::vec::Vec<#krate::InputDeclaration> {
                ::std::vec![#(#input_declarations),*]
            }
            fn bindings(&self) -> ::std::vec::Vec<(&'static str, ::core::option::Option<#krate::ErasedChannel>)> {
                ::std::vec![#(#input_bindings),*]
            }
        }

        impl #krate::OutputSet for #outputs_ident {
            fn declarations() -> ::std::vec::Vec<#krate::OutputDeclaration> {
                ::std::vec![#(#output_declarations),*]
            }
            fn bind(node: #krate::NodeHandle) -> Self {
                let _ = &node;
                #outputs_ident { #(#output_binds,)* }
            }
        }

        #[doc = #outputs_doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy)]
        #visibility struct #outputs_ident {
            #(#output_fields,)*
        }

        impl #struct_ident {
            #[doc = #new_doc]
            #[allow(clippy::too_many_arguments)]
            #visibility fn new(#(#constructor_arguments),*) -> #krate::Node<#struct_ident> {
                #krate::Node::new(
                    #struct_ident { #(#parameter_inits,)* },
                    #inputs_ident { #(#input_inits,)* },
                )
            }
        }

        impl #krate::Component for #struct_ident {
            const KIND: &'static str = #kind;
            const VERSION: u32 = #version;
            type Inputs = #inputs_ident;
            type Outputs = #outputs_ident;
            fn execution(&self) -> #krate::Executor<'_> {
                #krate::Executor::InProcess(self)
            }
        }

        #[#krate::__private::async_trait]
        impl #krate::Execute for #struct_ident {
            async fn execute(
                &self,
                context: &mut #krate::ExecutionContext,
            ) -> ::core::result::Result<(), #krate::ComponentError> {
                #(#prepare)*
                #function_ident(#(#call_arguments),*)
                    .await
                    .map_err(::core::convert::Into::<#krate::ComponentError>::into)
            }
        }

        #krate::__private::inventory::submit! {
            #krate::ComponentRegistration::of::<#struct_ident>()
        }
    })
}
