// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title TorqArbitrage
/// @notice Torq's own on-chain executor: runs a 2- or 3-hop cycle across Uniswap V2 pairs and
///         Uniswap V3 pools atomically, funded by a flash swap on the first hop (no capital
///         needed), and reverts unless the profit in the start token is at least `minProfit`.
///         Only the owner (the deployer, fixed for the contract's life) may execute or withdraw.
///
/// Path encoding (docs/arb-contract.md): `hops * 24` bytes, hops in {2, 3}; per hop
///   [0..20)  pool address
///   [20]     kind: 0 = Uniswap V2 pair, 1 = Uniswap V3 pool
///   [21]     direction: 1 = zeroForOne (token0 in, token1 out), 0 = oneForZero
///   [22..24) V2 fee numerator over 1000, big-endian (997 for a 0.3% fork); 0 for V3 hops
/// The input token of hop 0 is the start token; the output of each hop is the input of the
/// next (checked when the hop runs: BadPath); the last hop must output the start token (the
/// balance check enforces it).
///
/// Callback security: callbacks are accepted only from the pool this contract is calling at
/// that moment. The expected pool, the callback mode (flash or pay), the amount that may be
/// paid and the path hash live in EIP-1153 transient storage for the duration of `execute`,
/// and each expectation is cleared as soon as its callback runs. Outside `execute` the
/// expected pool is zero, so any direct call of a callback reverts with BadCallback.
/// No factory/init-code-hash check is made: the owner chooses the pools.
contract TorqArbitrage {
    // ------------------------------------------------------------------ errors and events
    error NotOwner();
    error BadPath();
    error BadCallback();
    error Unprofitable(int256 profit, uint256 minProfit);
    error TransferFailed(address token);

    event Executed(bytes32 indexed pathHash, uint256 amountIn, uint256 profit);
    event Withdrawn(address indexed token, address indexed to, uint256 amount);

    // ------------------------------------------------------------------ constants
    uint256 private constant HOP_BYTES = 24;
    uint8 private constant KIND_V2 = 0;
    uint8 private constant KIND_V3 = 1;
    uint8 private constant MODE_NONE = 0;
    uint8 private constant MODE_FLASH = 1; // first hop: run the rest of the path, repay
    uint8 private constant MODE_PAY = 2;   // inner V3 hop: pay what is owed, nothing else
    // TickMath.MIN_SQRT_RATIO + 1 and MAX_SQRT_RATIO - 1: no price limit.
    uint160 private constant MIN_SQRT_LIMIT = 4295128740;
    uint160 private constant MAX_SQRT_LIMIT = 1461446703485210103287273052203988822378723970341;

    address public immutable owner;

    // ------------------------------------------------------------------ per-call state (EIP-1153)
    address private transient cbPool;      // the only address whose callback is accepted now
    uint8 private transient cbMode;        // MODE_FLASH or MODE_PAY
    address private transient payToken;    // MODE_PAY: token owed to cbPool
    uint256 private transient payMax;      // MODE_PAY: most that may be paid (the hop's input)
    address private transient startToken;  // token borrowed on hop 0 and measured for profit
    uint256 private transient flashIn;     // amount of startToken owed to hop 0
    uint256 private transient flashMinProfit;
    bytes32 private transient flashPathHash;

    constructor() {
        owner = msg.sender;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    // ------------------------------------------------------------------ entry points

    /// Runs the cycle `path` with `amountIn` of the start token borrowed from hop 0; reverts with
    /// Unprofitable unless the start-token balance grows by at least `minProfit`.
    function execute(bytes calldata path, uint256 amountIn, uint256 minProfit)
        external onlyOwner returns (uint256 profit)
    {
        uint256 n = path.length / HOP_BYTES;
        if (path.length % HOP_BYTES != 0 || n < 2 || n > 3) revert BadPath();
        if (amountIn == 0 || amountIn > uint256(type(int256).max)) revert BadPath();
        for (uint256 i = 0; i < n; ++i) _checkHop(path, i);

        (address pool0,, bool zf0,) = _hop(path, 0);
        address t0 = _tokenIn(pool0, zf0);
        uint256 before = _balance(t0);
        bytes32 pathHash = keccak256(path);

        startToken = t0;
        flashIn = amountIn;
        flashMinProfit = minProfit;
        flashPathHash = pathHash;
        _startFlash(path, amountIn);
        if (cbPool != address(0)) revert BadCallback(); // the flash callback never ran

        uint256 afterBal = _balance(t0);
        if (afterBal < before || afterBal - before < minProfit) {
            revert Unprofitable(_signedDiff(afterBal, before), minProfit);
        }
        profit = afterBal - before;
        startToken = address(0);
        flashIn = 0;
        flashMinProfit = 0;
        flashPathHash = bytes32(0);
        emit Executed(pathHash, amountIn, profit);
    }

    /// Sends `amount` of `token` held by this contract to the owner; type(uint256).max = all.
    function withdraw(address token, uint256 amount) external onlyOwner {
        if (amount == type(uint256).max) amount = _balance(token);
        _transfer(token, owner, amount);
        emit Withdrawn(token, owner, amount);
    }

    // ------------------------------------------------------------------ callbacks

    /// Uniswap V2 flash-swap callback (hop 0 of a path that starts on a V2 pair).
    function uniswapV2Call(address sender, uint256 amount0, uint256 amount1, bytes calldata data) external {
        if (msg.sender != cbPool || msg.sender == address(0) || cbMode != MODE_FLASH || sender != address(this)) {
            revert BadCallback();
        }
        cbPool = address(0);
        cbMode = MODE_NONE;
        if (keccak256(data) != flashPathHash) revert BadCallback();
        uint256 owed = flashIn;
        uint256 finalOut = _runRest(data, amount0 + amount1, false);
        _checkAndRepay(msg.sender, owed, finalOut);
    }

    /// Uniswap V3 swap callback: hop 0 (flash: run the rest, then pay) or an inner V3 hop (pay).
    function uniswapV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata data) external {
        if (msg.sender != cbPool || msg.sender == address(0)) revert BadCallback();
        uint8 mode = cbMode;
        cbPool = address(0);
        cbMode = MODE_NONE;
        (uint256 owed, uint256 received) = amount0Delta > 0
            ? (uint256(amount0Delta), amount1Delta < 0 ? uint256(-amount1Delta) : 0)
            : (amount1Delta > 0 ? uint256(amount1Delta) : 0, amount0Delta < 0 ? uint256(-amount0Delta) : 0);
        if (mode == MODE_PAY) {
            if (owed > payMax) revert BadCallback();
            _transfer(payToken, msg.sender, owed);
            return;
        }
        if (mode != MODE_FLASH || keccak256(data) != flashPathHash || owed > flashIn) revert BadCallback();
        (, uint8 kind1,,) = _hop(data, 1);
        uint256 finalOut = _runRest(data, received, kind1 == KIND_V2);
        _checkAndRepay(msg.sender, owed, finalOut);
    }

    // ------------------------------------------------------------------ internals

    /// Swaps on hop 0 with the output delivered first; the pool's callback runs the rest.
    function _startFlash(bytes calldata path, uint256 amountIn) private {
        (address pool0, uint8 kind0, bool zf0, uint256 fee0) = _hop(path, 0);
        cbPool = pool0;
        cbMode = MODE_FLASH;
        if (kind0 == KIND_V2) {
            uint256 out = _v2AmountOut(pool0, zf0, amountIn, fee0);
            // Non-empty data makes the pair call uniswapV2Call on this contract.
            IUniswapV2Pair(pool0).swap(zf0 ? 0 : out, zf0 ? out : 0, address(this), path);
        } else {
            // A V3 pool pays out before its callback, so hop 1's pair can receive directly.
            (address pool1, uint8 kind1,,) = _hop(path, 1);
            address to = kind1 == KIND_V2 ? pool1 : address(this);
            IUniswapV3Pool(pool0).swap(to, zf0, int256(amountIn), zf0 ? MIN_SQRT_LIMIT : MAX_SQRT_LIMIT, path);
        }
    }

    /// Runs hops 1..n-1 with `amount` of hop 1's input; `atPool` says whether that input was
    /// already delivered to hop 1's pair. Returns the last hop's output (held by this contract).
    function _runRest(bytes calldata path, uint256 amount, bool atPool) private returns (uint256) {
        uint256 n = path.length / HOP_BYTES;
        for (uint256 i = 1; i < n; ++i) {
            (amount, atPool) = _swapHop(path, i, n, amount, atPool);
        }
        return amount;
    }

    /// Exact-input swap of hop `i` (not hop 0). The output goes straight to the next hop's pair
    /// when that hop is V2 (saves a transfer), else to this contract.
    function _swapHop(bytes calldata path, uint256 i, uint256 n, uint256 amount, bool atPool)
        private returns (uint256 out, bool nextAtPool)
    {
        (address pool, uint8 kind, bool zf, uint256 fee) = _hop(path, i);
        address to = address(this);
        if (i + 1 < n) {
            (address nextPool, uint8 nextKind,,) = _hop(path, i + 1);
            if (nextKind == KIND_V2) {
                to = nextPool;
                nextAtPool = true;
            }
        }
        address tokenIn = _linkedTokenIn(path, i, pool, zf);
        if (kind == KIND_V2) {
            if (!atPool) _transfer(tokenIn, pool, amount);
            out = _v2AmountOut(pool, zf, amount, fee);
            IUniswapV2Pair(pool).swap(zf ? 0 : out, zf ? out : 0, to, new bytes(0));
        } else {
            if (amount > uint256(type(int256).max)) revert BadPath();
            payToken = tokenIn;
            payMax = amount;
            cbPool = pool;
            cbMode = MODE_PAY;
            (int256 a0, int256 a1) = IUniswapV3Pool(pool).swap(
                to, zf, int256(amount), zf ? MIN_SQRT_LIMIT : MAX_SQRT_LIMIT, new bytes(0));
            if (cbPool != address(0)) revert BadCallback(); // the pay callback never ran
            payToken = address(0);
            payMax = 0;
            int256 outDelta = zf ? a1 : a0;
            out = outDelta < 0 ? uint256(-outDelta) : 0;
        }
    }

    function _checkAndRepay(address pool, uint256 owed, uint256 finalOut) private {
        uint256 minProfit = flashMinProfit;
        if (finalOut < owed || finalOut - owed < minProfit) {
            revert Unprofitable(_signedDiff(finalOut, owed), minProfit);
        }
        _transfer(startToken, pool, owed);
    }

    function _checkHop(bytes calldata path, uint256 i) private pure {
        (address pool, uint8 kind,,) = _hop(path, i);
        uint256 base = i * HOP_BYTES;
        uint8 dir = uint8(path[base + 21]);
        uint256 fee = _hopFee(path, i);
        if (pool == address(0) || dir > 1) revert BadPath();
        if (kind == KIND_V2) {
            if (fee == 0 || fee >= 1000) revert BadPath();
        } else if (kind != KIND_V3) {
            revert BadPath();
        }
    }

    function _hop(bytes calldata path, uint256 i)
        private pure returns (address pool, uint8 kind, bool zeroForOne, uint256 fee)
    {
        uint256 base = i * HOP_BYTES;
        pool = address(bytes20(path[base:base + 20]));
        kind = uint8(path[base + 20]);
        zeroForOne = path[base + 21] != 0;
        fee = (uint256(uint8(path[base + 22])) << 8) | uint256(uint8(path[base + 23]));
    }

    function _hopFee(bytes calldata path, uint256 i) private pure returns (uint256) {
        uint256 base = i * HOP_BYTES;
        return (uint256(uint8(path[base + 22])) << 8) | uint256(uint8(path[base + 23]));
    }

    /// Uniswap V2 getAmountOut with the fork's fee numerator over 1000.
    function _v2AmountOut(address pair, bool zeroForOne, uint256 amountIn, uint256 feeNum)
        private view returns (uint256)
    {
        (uint112 r0, uint112 r1,) = IUniswapV2Pair(pair).getReserves();
        (uint256 rIn, uint256 rOut) = zeroForOne ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
        uint256 inWithFee = amountIn * feeNum;
        return (inWithFee * rOut) / (rIn * 1000 + inWithFee);
    }

    /// Input token of a hop; token0()/token1() have the same selectors on V2 pairs and V3 pools.
    function _tokenIn(address pool, bool zeroForOne) private view returns (address) {
        return zeroForOne ? IUniswapV2Pair(pool).token0() : IUniswapV2Pair(pool).token1();
    }

    /// Input token of hop `i` (not hop 0), asked when the hop runs; BadPath unless it is the
    /// output token of hop i-1, so that no hop is paid in a token this contract merely holds.
    function _linkedTokenIn(bytes calldata path, uint256 i, address pool, bool zeroForOne)
        private view returns (address tokenIn)
    {
        (address prev,, bool prevZf,) = _hop(path, i - 1);
        tokenIn = _tokenIn(pool, zeroForOne);
        if (tokenIn != _tokenIn(prev, !prevZf)) revert BadPath();
    }

    function _balance(address token) private view returns (uint256) {
        return IERC20Minimal(token).balanceOf(address(this));
    }

    /// ERC-20 transfer that accepts tokens returning nothing or true.
    function _transfer(address token, address to, uint256 amount) private {
        (bool ok, bytes memory ret) = token.call(abi.encodeWithSelector(IERC20Minimal.transfer.selector, to, amount));
        if (!ok || (ret.length != 0 && (ret.length < 32 || !abi.decode(ret, (bool))))) revert TransferFailed(token);
    }

    function _signedDiff(uint256 a, uint256 b) private pure returns (int256) {
        unchecked {
            // Balances and swap amounts stay far below 2^255; wraps like two's complement.
            return int256(a - b);
        }
    }
}

/// Minimal interfaces (signatures of v2-core 1.0.1 and v3-core 1.0.1).
interface IERC20Minimal {
    function balanceOf(address account) external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
}

interface IUniswapV2Pair {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
}

interface IUniswapV3Pool {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function swap(address recipient, bool zeroForOne, int256 amountSpecified, uint160 sqrtPriceLimitX96,
        bytes calldata data) external returns (int256 amount0, int256 amount1);
}
