/** Whether the `count`-th occurrence of a repeated problem is logged: the first nine, then the 10th, 100th, 1000th, ... so a flood of bad input does not flood the log. */
export const isLogWorthy = (count: number): boolean => count < 10 || /^10+$/.test(String(count))
