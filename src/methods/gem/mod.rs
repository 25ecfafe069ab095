//! GEM (Lopez-Paz and Ranzato 2017): the episodic memory and the projection of PROTOCOL section 5.

pub mod qp;
