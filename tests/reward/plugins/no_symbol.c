/* A shared library that is not a reward plug-in: no crescent_reward. */
int not_a_reward(void) { return 1; }
