// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// Demo contract for the chain monitor: badges minted and passed between the dev accounts, so the
/// evm/local/events channel has Transfer and CheckIn events to show. Not a token standard.
contract Badge {
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event CheckIn(address indexed holder, uint256 indexed tokenId, string venue);

    mapping(uint256 => address) public ownerOf;
    uint256 public totalSupply;

    function mint(address to) external returns (uint256 id) {
        id = ++totalSupply;
        ownerOf[id] = to;
        emit Transfer(address(0), to, id);
    }

    function transfer(address to, uint256 id) external {
        require(ownerOf[id] == msg.sender, "not the owner");
        ownerOf[id] = to;
        emit Transfer(msg.sender, to, id);
    }

    function checkIn(uint256 id, string calldata venue) external {
        require(ownerOf[id] == msg.sender, "not the owner");
        emit CheckIn(msg.sender, id, venue);
    }
}
