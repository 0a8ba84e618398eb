//! One integration-test binary (links once): each module covers one part of the product.

mod docs;
mod signer;
