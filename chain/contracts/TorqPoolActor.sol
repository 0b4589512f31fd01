// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// Minimal views of the Uniswap contracts this helper calls (signatures of the deployed
/// v2-core 1.0.1 and v3-core 1.0.1 contracts).
interface ITorqERC20 {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function balanceOf(address who) external view returns (uint256);
}

interface ITorqV2Pair {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 ts);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
    function mint(address to) external returns (uint256 liquidity);
    function burn(address to) external returns (uint256 amount0, uint256 amount1);
}

interface ITorqV3Pool {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function mint(address recipient, int24 tickLower, int24 tickUpper, uint128 amount, bytes calldata data)
        external returns (uint256 amount0, uint256 amount1);
    function burn(int24 tickLower, int24 tickUpper, uint128 amount)
        external returns (uint256 amount0, uint256 amount1);
    function collect(address recipient, int24 tickLower, int24 tickUpper, uint128 amount0Requested,
        uint128 amount1Requested) external returns (uint128 amount0, uint128 amount1);
    function swap(address recipient, bool zeroForOne, int256 amountSpecified, uint160 sqrtPriceLimitX96,
        bytes calldata data) external returns (int256 amount0, int256 amount1);
}

/// @title TorqPoolActor
/// @notice Test-chain helper that lets an EOA trade and provide liquidity on Uniswap V2 pairs
///         and V3 pools in one transaction: V2 swaps by transfer + pair.swap, V2 mint/burn,
///         V3 mint/burn/collect and swaps through the V3 callbacks. Tokens are pulled from the
///         caller (who must have approved this contract). Liquidity positions (V2 LP tokens and
///         V3 positions) are owned by this contract, so any caller may add or remove them: this
///         is a shared market maker for a local chain, not a production router.
contract TorqPoolActor {
    /// The pool whose callback is expected during the current call; zero otherwise.
    address private activePool;

    event V2Swapped(address indexed pair, bool zeroForOne, uint256 amountIn, uint256 amountOut);

    function _pull(address token, address from, address to, uint256 amount) private {
        if (amount == 0) return;
        (bool ok, bytes memory ret) =
            token.call(abi.encodeWithSelector(ITorqERC20.transferFrom.selector, from, to, amount));
        require(ok && (ret.length == 0 || abi.decode(ret, (bool))), "TorqPoolActor: transferFrom");
    }

    // ---------------------------------------------------------------- Uniswap V2

    /// Exact-input swap on a V2 pair with the standard 0.3% fee formula.
    function v2Swap(address pair, bool zeroForOne, uint256 amountIn, uint256 minOut, address recipient)
        external returns (uint256 amountOut)
    {
        (uint112 r0, uint112 r1,) = ITorqV2Pair(pair).getReserves();
        (uint256 rIn, uint256 rOut) = zeroForOne ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
        uint256 inWithFee = amountIn * 997;
        amountOut = (inWithFee * rOut) / (rIn * 1000 + inWithFee);
        require(amountOut > 0 && amountOut >= minOut, "TorqPoolActor: output");
        address tokenIn = zeroForOne ? ITorqV2Pair(pair).token0() : ITorqV2Pair(pair).token1();
        _pull(tokenIn, msg.sender, pair, amountIn);
        if (zeroForOne) {
            ITorqV2Pair(pair).swap(0, amountOut, recipient, new bytes(0));
        } else {
            ITorqV2Pair(pair).swap(amountOut, 0, recipient, new bytes(0));
        }
        emit V2Swapped(pair, zeroForOne, amountIn, amountOut);
    }

    /// Adds liquidity: moves the given amounts from the caller to the pair; LP tokens go to
    /// this contract.
    function v2Mint(address pair, uint256 amount0, uint256 amount1) external returns (uint256 liquidity) {
        _pull(ITorqV2Pair(pair).token0(), msg.sender, pair, amount0);
        _pull(ITorqV2Pair(pair).token1(), msg.sender, pair, amount1);
        liquidity = ITorqV2Pair(pair).mint(address(this));
    }

    /// Removes `liquidity` LP tokens held by this contract; the tokens go to `recipient`.
    function v2Burn(address pair, uint256 liquidity, address recipient)
        external returns (uint256 amount0, uint256 amount1)
    {
        require(ITorqERC20(pair).transfer(pair, liquidity), "TorqPoolActor: lp transfer");
        (amount0, amount1) = ITorqV2Pair(pair).burn(recipient);
    }

    // ---------------------------------------------------------------- Uniswap V3

    function v3Mint(address pool, int24 tickLower, int24 tickUpper, uint128 liquidity)
        external returns (uint256 amount0, uint256 amount1)
    {
        activePool = pool;
        (amount0, amount1) = ITorqV3Pool(pool).mint(address(this), tickLower, tickUpper, liquidity,
            abi.encode(msg.sender));
        activePool = address(0);
    }

    /// Burns liquidity of the position this contract owns and collects everything owed on it
    /// (principal and fees) to `recipient`.
    function v3Burn(address pool, int24 tickLower, int24 tickUpper, uint128 liquidity, address recipient)
        external returns (uint256 amount0, uint256 amount1)
    {
        (amount0, amount1) = ITorqV3Pool(pool).burn(tickLower, tickUpper, liquidity);
        ITorqV3Pool(pool).collect(recipient, tickLower, tickUpper, type(uint128).max, type(uint128).max);
    }

    function v3Swap(address pool, bool zeroForOne, int256 amountSpecified, uint160 sqrtPriceLimitX96,
        address recipient) external returns (int256 amount0, int256 amount1)
    {
        activePool = pool;
        (amount0, amount1) = ITorqV3Pool(pool).swap(recipient, zeroForOne, amountSpecified, sqrtPriceLimitX96,
            abi.encode(msg.sender));
        activePool = address(0);
    }

    function uniswapV3MintCallback(uint256 amount0Owed, uint256 amount1Owed, bytes calldata data) external {
        require(msg.sender == activePool && msg.sender != address(0), "TorqPoolActor: callback");
        address payer = abi.decode(data, (address));
        _pull(ITorqV3Pool(msg.sender).token0(), payer, msg.sender, amount0Owed);
        _pull(ITorqV3Pool(msg.sender).token1(), payer, msg.sender, amount1Owed);
    }

    function uniswapV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata data) external {
        require(msg.sender == activePool && msg.sender != address(0), "TorqPoolActor: callback");
        address payer = abi.decode(data, (address));
        if (amount0Delta > 0) _pull(ITorqV3Pool(msg.sender).token0(), payer, msg.sender, uint256(amount0Delta));
        if (amount1Delta > 0) _pull(ITorqV3Pool(msg.sender).token1(), payer, msg.sender, uint256(amount1Delta));
    }
}
