//! Embedding idv in a service of your own.
//!
//! The service keeps its state in memory (swap in `SqliteStore` and `FsBlobStore` to persist),
//! scores with the real face models, and processes verifications inline instead of on a
//! background worker. Run it from the repository root:
//!
//! ```text
//! cargo run -p idv-examples --example embed
//! ```

use std::path::Path;
use std::sync::Arc;

use idv_adapters::memory::{MemoryBlobStore, MemoryStore};
use idv_adapters::onnx::{OnnxConfig, OnnxScorer};
use idv_core::accounts::Registration;
use idv_core::auth::Secret;
use idv_core::domain::DocumentType;
use idv_core::verifications::Submission;
use idv_core::{Idv, Ports, Settings};

fn photo(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../photos")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scorer = OnnxScorer::load(OnnxConfig::default())?;
    let ports = Ports::from_store(
        Arc::new(MemoryStore::new()),
        Arc::new(MemoryBlobStore::new()),
        Arc::new(scorer),
    );
    let idv = Idv::new(
        ports,
        Settings::new(Secret::new("an-example-secret-of-at-least-32-bytes")),
    )?;

    let admin = idv
        .create_admin(Registration {
            email: "admin@example.com".into(),
            password: "an example password".into(),
            full_name: "Example Admin".into(),
        })
        .await?;
    let token = idv
        .login("admin@example.com", "an example password", None)
        .await?;
    let caller = idv.authenticate(token.access_token.expose()).await?;

    let pairs = [
        ("id_td1_valid_flat.png", "obama2.jpg", DocumentType::IdCard),
        ("obama.jpg", "obama2.jpg", DocumentType::Passport),
        ("obama.jpg", "biden.jpg", DocumentType::Passport),
    ];
    for (document, selfie, document_type) in pairs {
        let submission = Submission {
            user_id: admin.id,
            document_type,
            document_front: photo(document),
            document_back: None,
            selfie: photo(selfie),
        };
        let verification = idv.submit(&caller, submission).await?;
        while idv.process_next().await? {}
        let done = idv.get_verification(&caller, verification.id).await?;
        let result = done
            .result
            .as_ref()
            .expect("a processed verification has a result");
        println!(
            "{document} vs {selfie}: {} (face_match_score {:?}, reasons {:?})",
            done.status.as_str(),
            result.face_match_score,
            result.reasons
        );
    }
    Ok(())
}
