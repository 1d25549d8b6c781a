//! All SQL of the badges app: `classes` (what staff design), `awards` (who holds what) and
//! `imports` (badges people earned elsewhere).

mod awards;
mod classes;
mod imports;
mod progress;

pub use awards::*;
pub use classes::*;
pub use imports::*;
pub use progress::*;
