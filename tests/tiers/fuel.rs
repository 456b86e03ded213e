//! Fuel: a metered engine stops a loop that never ends.

use kiln::TrapCode;

use crate::calls::FIB;
use crate::{Program, Tier};

tier_tests!(fuel_stops_an_infinite_loop);

fn fuel_stops_an_infinite_loop(tier: Tier) {
    let mut p = Program::with(tier, FIB, |c| {
        c.consume_fuel(true);
    });
    p.store.set_fuel(10_000).expect("fuel");
    let err = p.call("forever", &[]).expect_err("must run out");
    assert_eq!(err.code(), Some(TrapCode::OutOfFuel));
    assert!(p.store.get_fuel().expect("fuel") < 10_000);
}
