"""The warehouse path (spec section 10): the policy as SQL, and the engines that run it."""
