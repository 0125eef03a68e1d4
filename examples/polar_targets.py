"""A vector-valued target: polar to Cartesian coordinates, checked with

    adbench check --targets-file examples/polar_targets.py --targets polar

f returns an array, so its derivatives are the Jacobian (shape ``f(x).shape + x.shape``),
the forward-mode product J v and the reverse-mode product uᵀJ.  Only the Jacobian is written
here: ``jvp`` and ``vjp`` follow from it (give them as ``closed(xp, x, params, v)`` and
``closed(xp, x, params, u)`` to compute them without forming J).
"""

from autodiff_bench import Point, Target, register


def polar(xp, x, p):
    """(r cos a, r sin a) for x = (r, a)."""
    r, a = x[0], x[1]
    return xp.stack([r * xp.cos(a), r * xp.sin(a)])


def polar_jacobian(xp, x, p):
    """Row i is the gradient of output i: [[cos a, −r sin a], [sin a, r cos a]]."""
    r, a = x[0], x[1]
    return xp.stack(
        [
            xp.stack([xp.cos(a), -r * xp.sin(a)]),
            xp.stack([xp.sin(a), r * xp.cos(a)]),
        ]
    )


register(
    Target(
        name="polar",
        formula="(r cos a, r sin a), x = (r, a)",
        f=polar,
        closed_forms={"jacobian": polar_jacobian},
        closed_form_text={"jacobian": "[[cos a, −r sin a], [sin a, r cos a]]"},
        sample=lambda rng, n: Point.of([rng.uniform(0.5, 2.0), rng.uniform(-3.0, 3.0)], "random"),
        canonical=[Point.of([2.0, 0.5], "r=2, a=0.5")],
    )
)
